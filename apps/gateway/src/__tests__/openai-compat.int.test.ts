import OpenAI from "openai";
import { apiClient, startStack, TEST_CATALOG, writeTestCatalog, type Stack } from "@switchyard/testkit";

type Json = Record<string, any>;
let s: Stack;
let client: OpenAI;

beforeAll(async () => {
  // sim-flaky is the only lite model here, so an explicit request for it has nowhere to fall back to.
  const catalog = { ...TEST_CATALOG, models: TEST_CATALOG.models.filter((m) => m.tier !== "lite" || m.id === "sim-flaky") };
  s = await startStack({ env: { MODEL_CATALOG_PATH: writeTestCatalog(catalog), MAX_UPSTREAM_WAIT_MS: "1500" } });
  client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.key, maxRetries: 0 });
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

test("the official SDK gets a chat.completion, with the job id header, matching the job", async () => {
  const { data, response } = await client.chat.completions
    .create({
      model: "sim-fast",
      messages: [
        { role: "developer", content: "Be brief." },
        { role: "user", content: "Say hello" },
      ],
      max_completion_tokens: 12,
    })
    .withResponse();
  expect(data.object).toBe("chat.completion");
  expect(data.model).toBe("sim-fast");
  expect(data.choices).toHaveLength(1);
  expect(data.choices[0]!.message.role).toBe("assistant");
  expect(data.choices[0]!.finish_reason).toMatch(/stop|length/);
  const jobId = response.headers.get("x-switchyard-job-id")!;
  expect(data.id).toBe(`chatcmpl-${jobId}`);
  const job = (await apiClient(s.url, s.key).get<Json>(`/v1/jobs/${jobId}`)).body;
  expect(job.status).toBe("succeeded");
  expect(data.choices[0]!.message.content).toBe(job.output.text);
  expect(data.usage).toEqual({
    prompt_tokens: job.usage.input_tokens,
    completion_tokens: job.usage.output_tokens,
    total_tokens: job.usage.input_tokens + job.usage.output_tokens,
  });
  expect(data.usage!.completion_tokens).toBeLessThanOrEqual(12);
});

test("streaming through the SDK yields chunks that join to the job's text, then usage, then the end", async () => {
  const stream = await client.chat.completions.create({
    model: "auto",
    messages: [{ role: "user", content: "Stream a sentence" }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = "";
  const finish: string[] = [];
  let usage: OpenAI.CompletionUsage | undefined;
  let id = "";
  let chunks = 0;
  for await (const c of stream) {
    chunks++;
    id = c.id;
    expect(c.object).toBe("chat.completion.chunk");
    if (c.choices[0]?.delta?.content) text += c.choices[0].delta.content;
    if (c.choices[0]?.finish_reason) finish.push(c.choices[0].finish_reason);
    if (c.usage) usage = c.usage;
  }
  expect(chunks).toBeGreaterThan(3);
  expect(finish).toHaveLength(1);
  const job = (await apiClient(s.url, s.key).get<Json>(`/v1/jobs/${id.replace("chatcmpl-", "")}`)).body;
  expect(text).toBe(job.output.text);
  expect(usage).toEqual({
    prompt_tokens: job.usage.input_tokens,
    completion_tokens: job.usage.output_tokens,
    total_tokens: job.usage.input_tokens + job.usage.output_tokens,
  });
});

test("the raw stream ends with data: [DONE]", async () => {
  const res = await fetch(`${s.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${s.key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "sim-fast", messages: [{ role: "user", content: "x" }], stream: true }),
  });
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  expect(res.headers.get("x-switchyard-job-id")).toMatch(/^job_/);
  const body = await res.text();
  const frames = body.split("\n\n").filter(Boolean);
  expect(frames.at(-1)).toBe("data: [DONE]");
  // Without include_usage no usage chunk is sent.
  expect(frames.some((f) => f.includes('"usage"'))).toBe(false);
});

test("errors arrive as the SDK's error classes", async () => {
  const bad = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "sy_live_aaaaaaaaaaaaaaaaaaaa_" + "b".repeat(40), maxRetries: 0 });
  await expect(bad.chat.completions.create({ model: "sim-fast", messages: [{ role: "user", content: "x" }] })).rejects.toBeInstanceOf(
    OpenAI.AuthenticationError,
  );
  const unsupported = client.chat.completions.create({ model: "sim-fast", messages: [{ role: "user", content: "x" }], n: 2 });
  await expect(unsupported).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  await expect(unsupported).rejects.toMatchObject({ status: 400, param: "n", code: "unsupported_parameter" });
  // Tools are served now (openai-tools.int.test.ts); a malformed tool schema is a 400 naming the field.
  const tools = client.chat.completions.create({
    model: "sim-fast",
    messages: [{ role: "user", content: "x" }],
    tools: [{ type: "function", function: { name: "f", parameters: { type: "string" } } }],
  });
  await expect(tools).rejects.toMatchObject({ status: 400, param: "tools.0.function.parameters" });
  await expect(client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] })).rejects.toBeInstanceOf(
    OpenAI.NotFoundError,
  );
  // A job that fails upstream (a model that always errors) is a 5xx the SDK raises as InternalServerError.
  await expect(client.chat.completions.create({ model: "sim-flaky", messages: [{ role: "user", content: "x" }] })).rejects.toBeInstanceOf(
    OpenAI.InternalServerError,
  );
}, 60_000);

test("unknown request fields are rejected, as OpenAI does", async () => {
  const r = await apiClient(s.url, s.key).post<Json>("/v1/chat/completions", { model: "sim-fast", messages: [{ role: "user", content: "x" }], bogus: true });
  expect(r.status).toBe(400);
  expect(r.body.error).toMatchObject({ code: "unknown_field", param: "bogus" });
});

test("GET /v1/models lists the catalog in OpenAI's format", async () => {
  const models = [];
  for await (const m of client.models.list()) models.push(m);
  expect(models.map((m) => m.id).sort()).toEqual(["gpt-test", "sim-fast", "sim-flaky", "sim-slow"]);
  expect(models.every((m) => m.object === "model" && typeof m.owned_by === "string")).toBe(true);
});

test("streamingEnabled off: every way to stream is 403 feature_disabled naming stream; the same requests without a stream are served", async () => {
  const admin = apiClient(s.url, s.key);
  const t = (await admin.post<Json>("/admin/v1/tenants", { name: "no-streams" })).body;
  expect(
    (await admin.call<Json>("PATCH", `/admin/v1/deployments/${t.default_deployment_id}`, { body: { features: { streamingEnabled: false } } })).status,
  ).toBe(200);
  const key = (await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes: ["jobs:write", "jobs:read"] })).body.key as string;
  const c = apiClient(s.url, key);
  await new Promise((r) => setTimeout(r, 1100));
  const msg = { model: "sim-fast", messages: [{ role: "user", content: "hi" }], max_tokens: 4 };
  const chat = await c.post<Json>("/v1/chat/completions", { ...msg, stream: true });
  expect(chat.status).toBe(403);
  expect(chat.body.error).toMatchObject({ code: "feature_disabled", param: "stream" });
  const created = await c.post<Json>("/v1/responses", { model: "sim-fast", input: "hi", stream: true });
  expect(created.status).toBe(403);
  expect(created.body.error).toMatchObject({ code: "feature_disabled", param: "stream" });
  // Without a stream: served, and the job can be polled but not followed.
  expect((await c.post<Json>("/v1/chat/completions", msg)).status).toBe(200);
  const job = await c.post<Json>("/v1/jobs", msg);
  expect(job.status).toBe(202);
  const events = await c.get<Json>(`/v1/jobs/${job.body.id}/events`);
  expect(events.status).toBe(403);
  expect(events.body.error.code).toBe("feature_disabled");
  expect((await c.get<Json>(`/v1/jobs/${job.body.id}`)).status).toBe(200);
  const bg = await c.post<Json>("/v1/responses", { model: "sim-fast", input: "hi", background: true });
  expect(bg.status).toBe(200);
  const resumed = await c.get<Json>(`/v1/responses/${bg.body.id}?stream=true`);
  expect(resumed.status).toBe(403);
  expect(resumed.body.error).toMatchObject({ code: "feature_disabled", param: "stream" });
  // Another tenant's job is a 404 whatever that tenant's features: isolation is judged first.
  expect((await fetch(`${s.url}/v1/jobs/${job.body.id}/events`, { headers: { authorization: `Bearer ${s.key}` } })).status).toBe(404);
});
