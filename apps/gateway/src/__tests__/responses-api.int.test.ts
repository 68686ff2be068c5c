import type { ModelCatalog } from "@switchyard/contracts";
import {
  apiClient,
  startFakeAnthropic,
  startFakeGemini,
  startFakeOpenAI,
  startStack,
  TEST_CATALOG,
  waitFor,
  writeTestCatalog,
  type FakeAnthropic,
  type FakeGemini,
  type FakeOpenAI,
  type Stack,
} from "@switchyard/testkit";
import OpenAI from "openai";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { seededRandom } from "@switchyard/providers";

type Json = Record<string, any>;
const entry = (id: string, provider: "openai" | "anthropic" | "gemini", upstream: string) => ({
  id,
  provider,
  upstream_model: upstream,
  tier: "pro" as const,
  capabilities: { vision: false, long_context: false, tools: true, json_schema: true },
  context_window: 128000,
  max_output_tokens: 4096,
  pricing: { input: 1, output: 4, cached_input: 0.1 },
});
const CATALOG: ModelCatalog = {
  default_model: "sim-fast",
  models: [
    ...TEST_CATALOG.models.filter((m) => ["sim-fast", "sim-slow", "sim-crawl"].includes(m.id)),
    entry("oa-test", "openai", "gpt-4o-mini"),
    entry("an-test", "anthropic", "claude-sonnet-4-5"),
    entry("ge-test", "gemini", "gemini-2.5-flash"),
  ],
};

let s: Stack;
let client: OpenAI;
let openai: FakeOpenAI;
let anthropic: FakeAnthropic;
let gemini: FakeGemini;

// Seeded (mulberry32): the cut points are the same on every run.
const random = seededRandom(Number(process.env.RESPONSES_SEED ?? 20261206));

beforeAll(async () => {
  openai = await startFakeOpenAI({ reply: "from openai" });
  anthropic = await startFakeAnthropic({ reply: "from anthropic" });
  gemini = await startFakeGemini({ reply: "from gemini" });
  s = await startStack({
    apps: ["gateway", "usage-aggregator"],
    env: {
      MODEL_CATALOG_PATH: writeTestCatalog(CATALOG),
      WORKER_LOCK_MS: "1500",
      OPENAI_BASE_URL: openai.url,
      OPENAI_API_KEY: "sk-oa",
      ANTHROPIC_BASE_URL: anthropic.url,
      ANTHROPIC_API_KEY: "sk-an",
      GEMINI_BASE_URL: gemini.url,
      GEMINI_API_KEY: "sk-ge",
    },
  });
  await s.spawn("router-worker", {}, "w1");
  client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.key, maxRetries: 0 });
}, 90_000);
afterAll(async () => {
  await s?.stop();
  await Promise.all([openai?.close(), anthropic?.close(), gemini?.close()]);
});

async function pollUntilDone(id: string): Promise<OpenAI.Responses.Response> {
  return waitFor(
    async () => {
      const r = await client.responses.retrieve(id);
      return r.status === "queued" || r.status === "in_progress" ? undefined : r;
    },
    30_000,
    `response ${id} to end`,
  );
}

/** Text and sequence numbers a list of streamed events carries. */
function textOf(events: ResponseStreamEvent[]): string {
  return events
    .filter((e) => e.type === "response.output_text.delta")
    .map((e) => (e as { delta: string }).delta)
    .join("");
}

test("background: create answers queued at once, polling reaches completed with output_text, matching the job", async () => {
  const { data: created, response } = await client.responses
    .create({ model: "sim-fast", input: "Say hello", instructions: "Be brief.", background: true, metadata: { team: "qa" } })
    .withResponse();
  expect(created).toMatchObject({
    object: "response",
    status: "queued",
    background: true,
    model: "sim-fast",
    instructions: "Be brief.",
    output: [],
    metadata: { team: "qa" },
    max_output_tokens: null,
  });
  expect(created.id).toMatch(/^resp_/);
  const jobId = response.headers.get("x-switchyard-job-id")!;
  expect(created.id).toBe(`resp_${jobId.slice(4)}`);
  const done = await pollUntilDone(created.id);
  expect(done.status).toBe("completed");
  expect(done.output_text.length).toBeGreaterThan(0);
  expect(done.output).toHaveLength(1);
  expect(done.output[0]).toMatchObject({ type: "message", role: "assistant", status: "completed" });
  const job = (await apiClient(s.url, s.key).get<Json>(`/v1/jobs/${jobId}`)).body;
  expect(job.status).toBe("succeeded");
  expect(done.output_text).toBe(job.output.text);
  expect(done.usage).toMatchObject({
    input_tokens: job.usage.input_tokens,
    output_tokens: job.usage.output_tokens,
    total_tokens: job.usage.input_tokens + job.usage.output_tokens,
  });
  // Polling again gives the same object (stored once rendered).
  expect(await client.responses.retrieve(created.id)).toEqual(done);
}, 60_000);

test("non-background create waits for the job and answers the completed response; a cut by max_output_tokens is incomplete", async () => {
  const r = await client.responses.create({ model: "sim-fast", input: [{ role: "user", content: [{ type: "input_text", text: "Tell me a fact" }] }] });
  expect(r.status).toBe("completed");
  expect(r.background).toBe(false);
  expect(r.output_text.length).toBeGreaterThan(0);
  const cut = await client.responses.create({ model: "sim-fast", input: "Tell me a long story", max_output_tokens: 4 });
  expect(cut).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } });
  expect(cut.output[0]).toMatchObject({ type: "message", status: "incomplete" });
  expect(cut.output_text.length).toBeGreaterThan(0);
}, 30_000);

test("streamed create: semantic events in order, contiguous sequence numbers, text equal to the final response", async () => {
  const stream = await client.responses.create({ model: "sim-fast", input: "Stream a sentence", stream: true });
  const events: ResponseStreamEvent[] = [];
  for await (const e of stream) events.push(e);
  expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
  const types = events.map((e) => e.type);
  expect(types.slice(0, 4)).toEqual(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]);
  expect(types.slice(-4)).toEqual(["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]);
  const completed = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
  const text = textOf(events);
  expect(text.length).toBeGreaterThan(0);
  expect((events.at(-4) as { text: string }).text).toBe(text);
  const final = await client.responses.retrieve(completed.response.id);
  expect(final.output_text).toBe(text);
  expect(final.output).toEqual(completed.response.output);
  // The SDK's stream helper drives the same events to a final response.
  const helper = client.responses.stream({ model: "sim-fast", input: "Another sentence" });
  let deltas = "";
  helper.on("response.output_text.delta", (e) => (deltas += e.delta));
  const viaHelper = await helper.finalResponse();
  expect(viaHelper.status).toBe("completed");
  expect(viaHelper.output_text).toBe(deltas);
}, 30_000);

test("a stream cut at a random point resumes with starting_after: same text, same sequence numbers as a full replay", async () => {
  const stream = await client.responses.create({ model: "sim-slow", input: "Write two sentences", background: true, stream: true });
  const first: ResponseStreamEvent[] = [];
  const cutAt = 3 + Math.floor(random() * 12);
  for await (const e of stream) {
    first.push(e);
    if (first.length >= cutAt) break; // the SDK aborts the connection
  }
  const id = (first[0] as OpenAI.Responses.ResponseCreatedEvent).response.id;
  const last = first.at(-1)!.sequence_number;
  const rest: ResponseStreamEvent[] = [];
  for await (const e of await client.responses.retrieve(id, { stream: true, starting_after: last })) rest.push(e);
  const resumed = [...first, ...rest];
  expect(resumed.map((e) => e.sequence_number)).toEqual(resumed.map((_, i) => i));
  expect(rest[0]!.sequence_number).toBe(last + 1);
  expect(rest.at(-1)!.type).toBe("response.completed");
  // Replaying from the start gives exactly the same events.
  const replay: ResponseStreamEvent[] = [];
  for await (const e of await client.responses.retrieve(id, { stream: true })) replay.push(e);
  expect(replay).toEqual(resumed);
  const final = await client.responses.retrieve(id);
  expect(textOf(resumed)).toBe(final.output_text);
  // The SDK's helper resumes too (it replays and filters on starting_after itself).
  const helper = client.responses.stream({ response_id: id, starting_after: last });
  const seen: number[] = [];
  helper.on("event", (e) => seen.push(e.sequence_number));
  expect((await helper.finalResponse()).output_text).toBe(final.output_text);
  expect(seen).toEqual(rest.map((e) => e.sequence_number));
}, 60_000);

test("starting_after past the stream is a 400 naming starting_after", async () => {
  const r = await client.responses.create({ model: "sim-fast", input: "hi", max_output_tokens: 8 });
  const res = await fetch(`${s.url}/v1/responses/${r.id}?stream=true&starting_after=100000`, { headers: { authorization: `Bearer ${s.key}` } });
  expect(res.status).toBe(400);
  expect(((await res.json()) as Json).error).toMatchObject({ param: "starting_after", type: "invalid_request_error" });
});

test("cancel: a running background response becomes cancelled; again is idempotent; a completed one is a 409", async () => {
  const r = await client.responses.create({ model: "sim-crawl", input: "Take your time", background: true });
  const cancelled = await client.responses.cancel(r.id);
  expect(cancelled).toMatchObject({ id: r.id, status: "cancelled" });
  expect((await client.responses.retrieve(r.id)).status).toBe("cancelled");
  expect((await client.responses.cancel(r.id)).status).toBe("cancelled");
  const job = (await apiClient(s.url, s.key).get<Json>(`/v1/jobs/job_${r.id.slice(5)}`)).body;
  expect(job.status).toBe("canceled");
  const done = await client.responses.create({ model: "sim-fast", input: "hi", background: true, max_output_tokens: 8 });
  await pollUntilDone(done.id);
  await expect(client.responses.cancel(done.id)).rejects.toMatchObject({ status: 409 });
  const foreground = await client.responses.create({ model: "sim-fast", input: "hi", max_output_tokens: 8 });
  await expect(client.responses.cancel(foreground.id)).rejects.toMatchObject({ status: 400 });
}, 60_000);

test("delete removes the response: then 404 on retrieve, cancel and input_items", async () => {
  const r = await client.responses.create({ model: "sim-fast", input: "hi", max_output_tokens: 8 });
  const del = await apiClient(s.url, s.key).delete<Json>(`/v1/responses/${r.id}`);
  expect(del.body).toEqual({ id: r.id, object: "response", deleted: true });
  await expect(client.responses.retrieve(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  await expect(client.responses.inputItems.list(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  await expect(client.responses.delete(r.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
});

test("input_items: a list object with limit, order and after, paged by the SDK", async () => {
  const input = [
    { role: "user" as const, content: "first" },
    { role: "assistant" as const, content: "second" },
    { role: "user" as const, content: "third" },
  ];
  const r = await client.responses.create({ model: "sim-fast", input, max_output_tokens: 8 });
  const page = await client.responses.inputItems.list(r.id, { limit: 2, order: "asc" });
  expect(page.data.map((i) => (i as unknown as { content: Array<{ text: string }> }).content[0]!.text)).toEqual(["first", "second"]);
  expect(page.has_more).toBe(true);
  const all = [];
  for await (const item of client.responses.inputItems.list(r.id, { limit: 1 })) all.push(item);
  expect(all.map((i) => (i as unknown as { content: Array<{ text: string }> }).content[0]!.text)).toEqual(["third", "second", "first"]);
  expect(all.every((i) => typeof i.id === "string" && i.type === "message")).toBe(true);
  const raw = (await apiClient(s.url, s.key).get<Json>(`/v1/responses/${r.id}/input_items?order=asc`)).body;
  expect(raw).toMatchObject({ object: "list", has_more: false, first_id: all[2]!.id, last_id: all[0]!.id });
  expect(raw.data[1]).toMatchObject({ type: "message", role: "assistant", content: [{ type: "output_text", text: "second" }] });
});

test("previous_response_id continues a conversation: the provider receives the earlier turn", async () => {
  const first = await client.responses.create({ model: "oa-test", input: "My name is Ada.", instructions: "Be terse." });
  expect(first.output_text).toBe("from openai");
  const before = openai.requests.length;
  const second = await client.responses.create({ model: "oa-test", input: "What is my name?", previous_response_id: first.id });
  expect(second.previous_response_id).toBe(first.id);
  const sent = openai.requests.slice(before).find((q) => q.path.endsWith("/chat/completions"))!.body as Json;
  const turns = sent.messages.map((m: Json) => [m.role, typeof m.content === "string" ? m.content : m.content.map((p: Json) => p.text).join("")]);
  expect(turns).toEqual([
    ["user", "My name is Ada."],
    ["assistant", "from openai"],
    ["user", "What is my name?"],
  ]);
  // The earlier instructions are not carried over (OpenAI's rule); input_items lists the whole input.
  const items = [];
  for await (const i of client.responses.inputItems.list(second.id, { order: "asc" })) items.push(i);
  expect(items.map((i) => (i as unknown as { role: string }).role)).toEqual(["user", "assistant", "user"]);
  await expect(client.responses.create({ model: "oa-test", input: "x", previous_response_id: "resp_0000000000nothere" })).rejects.toMatchObject({
    status: 404,
    param: "previous_response_id",
  });
}, 30_000);

test.each([
  ["oa-test", "from openai"],
  ["an-test", "from anthropic"],
  ["ge-test", "from gemini"],
])(
  "%s: background create → completed through its provider family",
  async (model, reply) => {
    const r = await client.responses.create({ model, input: "hi", background: true, max_output_tokens: 50 });
    expect(r.status).toBe("queued");
    const done = await pollUntilDone(r.id);
    expect(done).toMatchObject({ status: "completed", model });
    expect(done.output_text).toBe(reply);
  },
  30_000,
);

test("bad input: another tenant's response is 404, malformed items and unsupported fields are 400 naming the field", async () => {
  const a = apiClient(s.url, s.key);
  const t = await a.post<Json>("/admin/v1/tenants", { name: "Responses B" });
  const k = await a.post<Json>(`/admin/v1/tenants/${t.body.id}/api-keys`, { name: "b", scopes: ["jobs:write", "jobs:read"] });
  const other = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: k.body.key, maxRetries: 0 });
  const mine = await client.responses.create({ model: "sim-fast", input: "hi", background: true, max_output_tokens: 8 });
  await expect(other.responses.retrieve(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  await expect(other.responses.cancel(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  await expect(other.responses.inputItems.list(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  await expect(other.responses.create({ model: "sim-fast", input: "x", previous_response_id: mine.id })).rejects.toMatchObject({
    status: 404,
    param: "previous_response_id",
  });
  const bad = async (body: Json) => (await a.post<Json>("/v1/responses", body)).body.error;
  expect(await bad({ model: "sim-fast", input: [{ role: "user", content: [{ type: "input_text" }] }] })).toMatchObject({ param: "input.0.content.0.text" });
  expect(await bad({ model: "sim-fast", input: [{ type: "web_search_call", id: "x" }] })).toMatchObject({ param: "input.0.type" });
  expect(await bad({ model: "sim-fast", input: [{ role: "robot", content: "x" }] })).toMatchObject({ param: "input.0.role" });
  expect(await bad({ model: "sim-fast", input: [{ type: "function_call_output", call_id: "c1", output: "x" }] })).toMatchObject({ param: "input.0.call_id" });
  expect(await bad({ model: "sim-fast", input: "x", tools: [{ type: "web_search" }] })).toMatchObject({ param: "tools.0.type" });
  expect(await bad({ model: "sim-fast", input: "x", reasoning: { effort: "high" } })).toMatchObject({ param: "reasoning", code: "unsupported_parameter" });
  expect(await bad({ model: "sim-fast", input: "x", background: true, store: false })).toMatchObject({ param: "store" });
  expect(await bad({ model: "sim-fast", input: "x", bogus: 1 })).toMatchObject({ param: "bogus", code: "unknown_field" });
  // Admission's errors about the job the request became are named in this API's fields, not the job's (messages, max_tokens).
  const cap = await bad({ model: "sim-fast", input: "x", max_output_tokens: 5000 });
  expect(cap).toMatchObject({ param: "max_output_tokens", code: "invalid_request" });
  expect(cap.message).toMatch(/^max_output_tokens: /);
  expect(cap.message).not.toMatch(/max_tokens/);
  const huge = await bad({ model: "sim-fast", input: "word ".repeat(20_000) });
  expect(huge).toMatchObject({ param: "input", code: "request_too_large" });
  expect(huge.message).toMatch(/^input: /);
  const q = await a.get<Json>(`/v1/responses/${mine.id}?stream=true&starting_after=abc`);
  expect(q.status).toBe(400);
  expect(q.body.error.param).toBe("starting_after");
});

test("a function tool round trip: function_call output item streamed with argument deltas, then the tool output continues", async () => {
  const tools: OpenAI.Responses.FunctionTool[] = [
    { type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }, strict: true },
  ];
  const stream = await client.responses.create({ model: "sim-fast", input: "Weather in Paris?", tools, tool_choice: "required", stream: true });
  const events: ResponseStreamEvent[] = [];
  for await (const e of stream) events.push(e);
  const final = (events.at(-1) as OpenAI.Responses.ResponseCompletedEvent).response;
  expect(final.status).toBe("completed");
  const call = final.output.find((o) => o.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall;
  expect(call).toMatchObject({ type: "function_call", name: "get_weather", status: "completed" });
  const argDeltas = events
    .filter((e) => e.type === "response.function_call_arguments.delta")
    .map((e) => (e as { delta: string }).delta)
    .join("");
  expect(argDeltas).toBe(call.arguments);
  expect(events.find((e) => e.type === "response.function_call_arguments.done")).toMatchObject({ arguments: call.arguments, name: "get_weather" });
  const next = await client.responses.create({
    model: "sim-fast",
    previous_response_id: final.id,
    input: [{ type: "function_call_output", call_id: call.call_id, output: JSON.stringify({ temperature_c: 21 }) }],
    tools,
    tool_choice: "none",
  });
  expect(next.status).toBe("completed");
  expect(next.output_text.length).toBeGreaterThan(0);
}, 30_000);

test("a gateway restart loses nothing: the background response is still polled to completion and its stream resumes", async () => {
  const stream = await client.responses.create({ model: "sim-slow", input: "Write a paragraph", background: true, stream: true });
  const first: ResponseStreamEvent[] = [];
  for await (const e of stream) {
    first.push(e);
    if (first.length >= 5) break;
  }
  const id = (first[0] as OpenAI.Responses.ResponseCreatedEvent).response.id;
  const gw = s.apps.get("gateway")!;
  gw.kill("SIGKILL");
  await gw.exited;
  await s.spawn("gateway");
  client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.key, maxRetries: 0 });
  const rest: ResponseStreamEvent[] = [];
  for await (const e of await client.responses.retrieve(id, { stream: true, starting_after: first.at(-1)!.sequence_number })) rest.push(e);
  const all = [...first, ...rest];
  expect(all.map((e) => e.sequence_number)).toEqual(all.map((_, i) => i));
  const done = await pollUntilDone(id);
  expect(done.status).toBe("completed");
  expect(textOf(all)).toBe(done.output_text);
}, 60_000);

test("a worker SIGKILLed mid-response: another picks the job up, the stream ends completed, coherent with GET", async () => {
  const stream = await client.responses.create({ model: "sim-slow", input: "Write a long paragraph", background: true, stream: true });
  const events: ResponseStreamEvent[] = [];
  let killed = false;
  for await (const e of stream) {
    events.push(e);
    if (!killed && events.filter((x) => x.type === "response.output_text.delta").length >= 3) {
      killed = true;
      s.apps.get("w1")!.kill("SIGKILL");
      await s.apps.get("w1")!.exited;
      await s.spawn("router-worker", {}, "w2");
    }
  }
  expect(killed).toBe(true);
  expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
  const end = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
  expect(end.type).toBe("response.completed");
  const final = await client.responses.retrieve(end.response.id);
  expect(final.status).toBe("completed");
  expect(final.output).toEqual(end.response.output);
  // What the answer streamed after the restart is the final text; what was taken back was closed `incomplete`.
  const closed = events.filter((e): e is OpenAI.Responses.ResponseOutputItemDoneEvent => e.type === "response.output_item.done");
  expect(closed.at(-1)!.item).toMatchObject({ status: "completed", id: (final.output[0] as { id: string }).id });
  expect(closed.length).toBeGreaterThanOrEqual(2); // the retried answer is a new item after the one taken back
  expect(closed.slice(0, -1).every((e) => (e.item as { status?: string }).status === "incomplete")).toBe(true);
  expect((closed.at(-1)!.item as OpenAI.Responses.ResponseOutputMessage).content[0]).toMatchObject({ text: final.output_text });
  // Replaying the whole stream gives the same events.
  const replay: ResponseStreamEvent[] = [];
  for await (const e of await client.responses.retrieve(final.id, { stream: true })) replay.push(e);
  expect(replay).toEqual(events);
}, 90_000);
