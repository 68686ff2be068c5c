import OpenAI from "openai";
import {
  apiClient,
  startFakeGemini,
  startFakeOpenAI,
  startStack,
  TEST_CATALOG,
  TEST_EMBEDDING_MODELS,
  waitFor,
  writeTestCatalog,
  type FakeGemini,
  type FakeOpenAI,
  type Stack,
} from "@switchyard/testkit";

type Json = Record<string, any>;
let s: Stack;
let fakeOpenAI: FakeOpenAI;
let fakeGemini: FakeGemini;
let client: OpenAI;
let admin: ReturnType<typeof apiClient>;

const CHAT_IDS = TEST_CATALOG.models.map((m) => m.id);
const EMBEDDING_IDS = TEST_EMBEDDING_MODELS.map((m) => m.id);
const price = (id: string) => TEST_EMBEDDING_MODELS.find((m) => m.id === id)!.pricing.input;

beforeAll(async () => {
  fakeOpenAI = await startFakeOpenAI();
  fakeGemini = await startFakeGemini();
  s = await startStack({
    apps: ["gateway", "usage-aggregator"],
    env: {
      MODEL_CATALOG_PATH: writeTestCatalog({ ...TEST_CATALOG, embedding_models: TEST_EMBEDDING_MODELS }),
      OPENAI_BASE_URL: fakeOpenAI.url,
      OPENAI_API_KEY: "sk-fake",
      GEMINI_BASE_URL: fakeGemini.url,
      GEMINI_API_KEY: "gemini-fake",
      USAGE_BATCH_WAIT_MS: "10",
    },
  });
  client = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: s.key, maxRetries: 0 });
  admin = apiClient(s.url, s.key);
}, 90_000);
afterAll(async () => {
  await s?.stop();
  await fakeOpenAI?.close();
  await fakeGemini?.close();
});

/** A new tenant whose default deployment is patched with `deployment`, and an SDK client with a key for it. */
async function tenant(name: string, deployment: Json = {}, scopes = ["jobs:write", "jobs:read", "usage:read"]) {
  const t = (await admin.post<Json>("/admin/v1/tenants", { name })).body;
  if (Object.keys(deployment).length)
    expect((await admin.call<Json>("PATCH", `/admin/v1/deployments/${t.default_deployment_id}`, { body: deployment })).status).toBe(200);
  const k = (await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes })).body;
  return { key: k.key as string, sdk: new OpenAI({ baseURL: `${s.url}/v1`, apiKey: k.key, maxRetries: 0 }), api: apiClient(s.url, k.key) };
}

/** The ledger row of one embeddings request, once the aggregator has written it. */
async function ledgerRow(id: string): Promise<Json> {
  return waitFor(
    async () => {
      const rows = await s.database.db.selectFrom("usage_events").selectAll().where("job_id", "=", id).execute();
      return rows.length ? rows : undefined;
    },
    20_000,
    `usage row for ${id}`,
  ).then((rows) => {
    expect(rows).toHaveLength(1);
    return rows[0] as Json;
  });
}

const norm = (v: number[]) => Math.hypot(...v);

describe("models", () => {
  test("GET /v1/models lists chat and embedding models in OpenAI's format", async () => {
    const models = [];
    for await (const m of client.models.list()) models.push(m);
    expect(models.map((m) => m.id).sort()).toEqual([...CHAT_IDS, ...EMBEDDING_IDS].sort());
    for (const m of models) {
      expect(Object.keys(m).sort()).toEqual(["created", "id", "object", "owned_by"]);
      expect(m.object).toBe("model");
      expect(Number.isInteger(m.created)).toBe(true);
    }
    expect(models.find((m) => m.id === "emb-gemini")!.owned_by).toBe("gemini");
  });

  test("models.retrieve finds a chat model and an embedding model; a missing or disallowed one is 404", async () => {
    const chat = await client.models.retrieve("sim-fast");
    expect(chat).toEqual({ id: "sim-fast", object: "model", created: expect.any(Number), owned_by: "simulated" });
    const emb = await client.models.retrieve("emb-openai");
    expect(emb).toMatchObject({ id: "emb-openai", object: "model", owned_by: "openai" });
    await expect(client.models.retrieve("no-such-model")).rejects.toMatchObject({ status: 404, code: "model_not_found", param: "model" });

    const limited = await tenant("models-limited", { allowed_models: ["sim-fast", "emb-sim"] });
    await new Promise((r) => setTimeout(r, 1100)); // deployment settings are cached for a second
    const ids = [];
    for await (const m of limited.sdk.models.list()) ids.push(m.id);
    expect(ids.sort()).toEqual(["emb-sim", "sim-fast"]);
    await expect(limited.sdk.models.retrieve("emb-sim")).resolves.toMatchObject({ id: "emb-sim" });
    const disallowed = limited.sdk.models.retrieve("emb-openai");
    await expect(disallowed).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(disallowed).rejects.toMatchObject({ status: 404, code: "model_not_found", param: "model", type: "not_found_error" });
    await expect(limited.sdk.models.retrieve("sim-slow")).rejects.toMatchObject({ status: 404 });
    // The same deployment may not embed with a model it does not allow.
    await expect(limited.sdk.embeddings.create({ model: "emb-openai", input: "x" })).rejects.toMatchObject({
      status: 403,
      code: "model_not_allowed",
      param: "model",
    });
  }, 30_000);
});

describe("embeddings on the simulated embedder", () => {
  test("a string, float and base64 (the SDK's default, decoded by it) carry the same unit vector", async () => {
    const float = await client.embeddings.create({ model: "emb-sim", input: "The cat sat on the mat", encoding_format: "float" });
    expect(float.object).toBe("list");
    expect(float.model).toBe("emb-sim");
    expect(float.data).toHaveLength(1);
    expect(float.data[0]).toMatchObject({ object: "embedding", index: 0 });
    const v = float.data[0]!.embedding;
    expect(v).toHaveLength(64);
    expect(norm(v)).toBeCloseTo(1, 5);
    expect(float.usage.prompt_tokens).toBeGreaterThan(0);
    expect(float.usage.total_tokens).toBe(float.usage.prompt_tokens);

    const b64 = await client.embeddings.create({ model: "emb-sim", input: "The cat sat on the mat" });
    expect(b64.data[0]!.embedding).toEqual(v);

    // On the wire: little-endian float32 bytes.
    const raw = await apiClient(s.url, s.key).post<Json>("/v1/embeddings", { model: "emb-sim", input: "The cat sat on the mat", encoding_format: "base64" });
    expect(raw.status).toBe(200);
    const bytes = Buffer.from(raw.body.data[0].embedding as string, "base64");
    expect(bytes).toHaveLength(64 * 4);
    expect(Array.from({ length: 64 }, (_, i) => bytes.readFloatLE(i * 4))).toEqual(v);
  });

  test("an array gives one vector per input, in order, the same as one at a time; similar texts are nearer", async () => {
    const texts = ["The cat sat on the mat", "A cat sat on a mat", "Quarterly revenue grew by 4%"];
    const res = await client.embeddings.create({ model: "emb-sim", input: texts });
    expect(res.data.map((d) => d.index)).toEqual([0, 1, 2]);
    const one = await client.embeddings.create({ model: "emb-sim", input: texts[0]! });
    expect(res.data[0]!.embedding).toEqual(one.data[0]!.embedding);
    const dot = (a: number[], b: number[]) => a.reduce((acc, x, i) => acc + x * b[i]!, 0);
    const [a, b, c] = res.data.map((d) => d.embedding) as [number[], number[], number[]];
    expect(dot(a, b)).toBeGreaterThan(dot(a, c));
  });

  test("dimensions: honoured where the model can shorten its vectors, else a 400 naming dimensions", async () => {
    const short = await client.embeddings.create({ model: "emb-sim", input: "hello", dimensions: 16, encoding_format: "float" });
    expect(short.data[0]!.embedding).toHaveLength(16);
    expect(norm(short.data[0]!.embedding)).toBeCloseTo(1, 5);
    await expect(client.embeddings.create({ model: "emb-sim", input: "hello", dimensions: 65 })).rejects.toMatchObject({ status: 400, param: "dimensions" });
    await expect(client.embeddings.create({ model: "emb-sim-fixed", input: "hello", dimensions: 16 })).rejects.toMatchObject({
      status: 400,
      param: "dimensions",
    });
    const fixed = await client.embeddings.create({ model: "emb-sim-fixed", input: "hello", dimensions: 32 });
    expect(fixed.data[0]!.embedding).toHaveLength(32);
  });
});

describe("embeddings through the providers' wire formats", () => {
  test("OpenAI: the fake gets the upstream model, input, dimensions and user; its vectors and usage come back", async () => {
    const before = fakeOpenAI.requests.length;
    const { data: res, response } = await client.embeddings
      .create({ model: "emb-openai", input: ["first text", "second text"], dimensions: 4, user: "end-user-1" })
      .withResponse();
    const sent = fakeOpenAI.requests.slice(before).filter((r) => r.path === "/v1/embeddings");
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toEqual({
      model: "text-embedding-3-small",
      input: ["first text", "second text"],
      encoding_format: "float",
      dimensions: 4,
      user: "end-user-1",
    });
    // What the fake answers for the same request, straight.
    const direct = (await (
      await fetch(`${fakeOpenAI.url}/embeddings`, {
        method: "POST",
        headers: { authorization: "Bearer sk-fake", "content-type": "application/json" },
        body: JSON.stringify(sent[0]!.body),
      })
    ).json()) as Json;
    expect(res.data.map((d) => d.embedding)).toEqual(direct.data.map((d: Json) => d.embedding));
    expect(res.model).toBe("emb-openai");
    expect(res.usage).toEqual(direct.usage);

    const row = await ledgerRow(response.headers.get("x-switchyard-usage-id")!);
    expect(row).toMatchObject({
      attempt: 1,
      requested_model: "emb-openai",
      served_model: "emb-openai",
      provider: "openai",
      status: "succeeded",
      input_tokens: direct.usage.prompt_tokens,
      output_tokens: 0,
      provenance: "reported",
      features: ["embeddings"],
    });
    expect(Number(row.cost_usd)).toBeCloseTo((direct.usage.prompt_tokens * price("emb-openai")) / 1e6, 9);
  });

  test("Gemini: batchEmbedContents with outputDimensionality; no usage reported, so the gateway's count is billed as estimated", async () => {
    const before = fakeGemini.requests.length;
    const { data: res, response } = await client.embeddings
      .create({ model: "emb-gemini", input: ["alpha beta", "gamma"], dimensions: 4, encoding_format: "float" })
      .withResponse();
    const sent = fakeGemini.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.path).toBe("/v1beta/models/gemini-embedding-001:batchEmbedContents");
    expect(sent[0]!.body).toEqual({
      requests: [
        { model: "models/gemini-embedding-001", content: { parts: [{ text: "alpha beta" }] }, outputDimensionality: 4 },
        { model: "models/gemini-embedding-001", content: { parts: [{ text: "gamma" }] }, outputDimensionality: 4 },
      ],
    });
    const direct = (await (
      await fetch(`${fakeGemini.url}/v1beta/models/gemini-embedding-001:batchEmbedContents`, {
        method: "POST",
        headers: { "x-goog-api-key": "gemini-fake", "content-type": "application/json" },
        body: JSON.stringify(sent[0]!.body),
      })
    ).json()) as Json;
    expect(res.data).toHaveLength(2);
    res.data.forEach((d, i) => {
      expect(d.embedding).toHaveLength(4);
      d.embedding.forEach((x, j) => expect(x).toBeCloseTo(direct.embeddings[i].values[j], 6));
    });
    // o200k: "alpha beta" and "gamma" are 2 + 1 tokens.
    expect(res.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    const row = await ledgerRow(response.headers.get("x-switchyard-usage-id")!);
    expect(row).toMatchObject({
      served_model: "emb-gemini",
      provider: "gemini",
      input_tokens: 3,
      output_tokens: 0,
      provenance: "estimated",
      features: ["embeddings"],
    });
    expect(Number(row.cost_usd)).toBeCloseTo((3 * price("emb-gemini")) / 1e6, 9);
  });

  test("upstream errors: 429 → 429 with Retry-After, 5xx → 502, 400 → 400; nothing billed", async () => {
    try {
      fakeOpenAI.setMode({ kind: "error", status: 429, headers: { "retry-after": "7" } });
      const limited = await apiClient(s.url, s.key).post<Json>("/v1/embeddings", { model: "emb-openai", input: "x" });
      expect(limited.status).toBe(429);
      expect(limited.body.error).toMatchObject({ type: "rate_limit_error", code: "rate_limited" });
      expect(limited.headers.get("retry-after")).toBe("7");
      expect(limited.headers.get("x-switchyard-usage-id")).toBeNull();
      fakeOpenAI.setMode({ kind: "error", status: 503 });
      await expect(client.embeddings.create({ model: "emb-openai", input: "x" })).rejects.toMatchObject({ status: 502, code: "upstream_error" });
      fakeOpenAI.setMode({ kind: "error", status: 400, message: "bad input" });
      await expect(client.embeddings.create({ model: "emb-openai", input: "x" })).rejects.toMatchObject({ status: 400 });
    } finally {
      fakeOpenAI.setMode({ kind: "ok" });
    }
  });
});

describe("admission", () => {
  test("a budget: reserved goes back to 0 and spent is the cost; one too small is 402 and the provider is never called", async () => {
    const rich = await tenant("emb-budget", { budget: { period: "day", limit_usd: 5 } });
    await new Promise((r) => setTimeout(r, 1100));
    const { data: res, response } = await rich.sdk.embeddings.create({ model: "emb-openai", input: ["budgeted words here", "and more"] }).withResponse();
    const cost = (res.usage.prompt_tokens * price("emb-openai")) / 1e6;
    const budgets = (await rich.api.get<Json>("/v1/budgets")).body.data as Json[];
    const dep = budgets.find((b) => b.scope === "deployment")!;
    expect(dep.reserved_usd).toBe(0);
    expect(dep.reserved_tokens).toBe(0);
    expect(dep.spent_usd).toBeCloseTo(cost, 9);
    expect(dep.spent_tokens).toBe(res.usage.prompt_tokens);
    const row = await ledgerRow(response.headers.get("x-switchyard-usage-id")!);
    expect(Number(row.cost_usd)).toBeCloseTo(cost, 9);

    // A failed call releases its reservation and spends nothing.
    fakeOpenAI.setMode({ kind: "error", status: 500 });
    await expect(rich.sdk.embeddings.create({ model: "emb-openai", input: "fails" })).rejects.toMatchObject({ status: 502 });
    fakeOpenAI.setMode({ kind: "ok" });
    const after = ((await rich.api.get<Json>("/v1/budgets")).body.data as Json[]).find((b) => b.scope === "deployment")!;
    expect(after).toMatchObject({ reserved_usd: 0, reserved_tokens: 0, spent_tokens: res.usage.prompt_tokens });

    const poor = await tenant("emb-poor", { budget: { period: "day", limit_usd: 0.000001 } });
    await new Promise((r) => setTimeout(r, 1100));
    const before = fakeOpenAI.requests.length;
    const refused = poor.sdk.embeddings.create({
      model: "emb-openai",
      input: "this costs more than a millionth of a dollar at twenty dollars per million tokens",
    });
    await expect(refused).rejects.toMatchObject({ status: 402, code: "budget_exhausted", type: "budget_error" });
    expect(fakeOpenAI.requests.length).toBe(before);
  }, 40_000);

  test("rate limits: requests per minute refuse with 429 and Retry-After", async () => {
    const t = await tenant("emb-rpm", { rate_limits: { requests_per_minute: 2 } });
    await new Promise((r) => setTimeout(r, 1100));
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await t.api.post<Json>("/v1/embeddings", { model: "emb-sim", input: `text ${i}` }));
    expect(results.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(results[2]!.body.error).toMatchObject({ type: "rate_limit_error", code: "rate_limited" });
    expect(Number(results[2]!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    await expect(t.sdk.embeddings.create({ model: "emb-sim", input: "again" })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
  }, 20_000);

  test("input over tokens_per_request or over the whole tokens_per_day is a 400 naming input, never a 429; the provider is not called", async () => {
    const t = await tenant("emb-too-large", { rate_limits: { tokens_per_request: 50, tokens_per_day: 80 } });
    await new Promise((r) => setTimeout(r, 1100));
    const before = fakeOpenAI.requests.length;
    const perRequest = await t.api.post<Json>("/v1/embeddings", { model: "emb-openai", input: "word ".repeat(60) });
    expect(perRequest.status).toBe(400);
    expect(perRequest.body.error).toMatchObject({ type: "invalid_request_error", code: "request_too_large", param: "input" });
    expect(perRequest.body.error.message).toMatch(/tokens_per_request/);
    expect(perRequest.headers.get("retry-after")).toBeNull();
    // Within one request's limit, but two of them are more than the day allows: the first is served, the second must wait (429).
    const ok = await t.api.post<Json>("/v1/embeddings", { model: "emb-openai", input: "word ".repeat(45) });
    expect(ok.status).toBe(200);
    const waits = await t.api.post<Json>("/v1/embeddings", { model: "emb-openai", input: "word ".repeat(45) });
    expect(waits.status).toBe(429);
    expect(fakeOpenAI.requests.length).toBe(before + 1);
    const perDay = await tenant("emb-day", { rate_limits: { tokens_per_request: 4000, tokens_per_day: 30 } });
    await new Promise((r) => setTimeout(r, 1100));
    const never = await perDay.api.post<Json>("/v1/embeddings", { model: "emb-openai", input: "word ".repeat(45) });
    expect(never.status).toBe(400);
    expect(never.body.error).toMatchObject({ code: "request_too_large", param: "input" });
    expect(never.body.error.message).toMatch(/tokens_per_day/);
    expect(fakeOpenAI.requests.length).toBe(before + 1);
  }, 20_000);

  test("embeddings spend, so they need jobs:write", async () => {
    const reader = await tenant("emb-reader", {}, ["jobs:read"]);
    await expect(reader.sdk.embeddings.create({ model: "emb-sim", input: "x" })).rejects.toMatchObject({ status: 403, code: "insufficient_scope" });
    await expect(reader.sdk.models.retrieve("emb-sim")).resolves.toMatchObject({ id: "emb-sim" });
  });
});

describe("bad input is a 4xx naming the field", () => {
  const post = (body: unknown) => apiClient(s.url, s.key).post<Json>("/v1/embeddings", body);
  test.each([
    ["an empty string", { model: "emb-sim", input: "" }, 400, "input"],
    ["an empty array", { model: "emb-sim", input: [] }, 400, "input"],
    ["an empty string in the array", { model: "emb-sim", input: ["a", ""] }, 400, "input"],
    ["too many inputs", { model: "emb-sim", input: Array.from({ length: 2049 }, (_, i) => `t${i}`) }, 400, "input"],
    ["a token id past cl100k_base", { model: "emb-sim", input: [9906, 100277] }, 400, "input"],
    ["an unassigned cl100k_base id", { model: "emb-sim", input: [[9906], [100256]] }, 400, "input"],
    ["a negative or fractional token id", { model: "emb-sim", input: [[9906], [1.5]] }, 400, "input"],
    ["an empty token array", { model: "emb-sim", input: [[9906], []] }, 400, "input"],
    ["mixed types", { model: "emb-sim", input: ["a", 1] }, 400, "input"],
    ["no input", { model: "emb-sim" }, 400, "input"],
    ["an input over the model's tokens", { model: "emb-sim", input: ["ok", "word ".repeat(600)] }, 400, "input"],
    ["an unknown encoding_format", { model: "emb-sim", input: "x", encoding_format: "hex" }, 400, "encoding_format"],
    ["a dimensions of 0", { model: "emb-sim", input: "x", dimensions: 0 }, 400, "dimensions"],
    ["an unknown model", { model: "no-such-embedder", input: "x" }, 404, "model"],
    ["a chat model", { model: "sim-fast", input: "x" }, 400, "model"],
    ["an unknown field", { model: "emb-sim", input: "x", bogus: 1 }, 400, "bogus"],
  ])("%s", async (_what, body, status, param) => {
    const r = await post(body);
    expect(r.status).toBe(status);
    expect(r.body.error).toMatchObject({ param });
    expect(r.body.error.message).toContain(param);
  });

  test("token arrays (cl100k_base, as tiktoken-based clients send them) embed like their text", async () => {
    const text = await post({ model: "emb-sim", input: ["Hello world", "Hello"], dimensions: 8 });
    const flat = await post({ model: "emb-sim", input: [9906, 1917], dimensions: 8 });
    const nested = await post({ model: "emb-sim", input: [[9906, 1917], [9906]], dimensions: 8 });
    expect([text.status, flat.status, nested.status]).toEqual([200, 200, 200]);
    expect(nested.body.data.map((d: Json) => d.embedding)).toEqual(text.body.data.map((d: Json) => d.embedding));
    expect(flat.body.data[0].embedding).toEqual(text.body.data[0].embedding);
  });

  test("the 2048-input limit itself is allowed", async () => {
    const r = await post({ model: "emb-sim", input: Array.from({ length: 2048 }, (_, i) => `t${i}`), dimensions: 4, encoding_format: "base64" });
    expect(r.status).toBe(200);
    expect(r.body.data).toHaveLength(2048);
    expect(r.body.data[2047].index).toBe(2047);
  });
});
