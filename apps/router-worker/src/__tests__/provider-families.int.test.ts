import type { ModelCatalog } from "@switchyard/contracts";
import {
  apiClient,
  readSse,
  startFakeAnthropic,
  startFakeGemini,
  startFakeOpenAI,
  startStack,
  writeTestCatalog,
  type FakeAnthropic,
  type FakeGemini,
  type FakeOpenAI,
  type Stack,
} from "@switchyard/testkit";

type Json = Record<string, any>;
const entry = (id: string, provider: "openai" | "anthropic" | "gemini", upstream: string, tier: "lite" | "flash" | "pro") => ({
  id,
  provider,
  upstream_model: upstream,
  tier,
  capabilities: { vision: true, long_context: false },
  context_window: 128000,
  max_output_tokens: 4096,
  pricing: { input: 1, output: 4, cached_input: 0.1 },
});
const CATALOG: ModelCatalog = {
  default_model: "oa-flash",
  models: [
    entry("oa-flash", "openai", "gpt-4o-mini", "flash"),
    entry("an-flash", "anthropic", "claude-sonnet-4-5", "flash"),
    entry("ge-flash", "gemini", "gemini-2.5-flash", "flash"),
  ],
};

let openai: FakeOpenAI;
let anthropic: FakeAnthropic;
let gemini: FakeGemini;
let s: Stack;

beforeAll(async () => {
  openai = await startFakeOpenAI({ reply: "from openai" });
  anthropic = await startFakeAnthropic({ reply: "from anthropic" });
  gemini = await startFakeGemini({ reply: "from gemini" });
  s = await startStack({
    env: {
      MODEL_CATALOG_PATH: writeTestCatalog(CATALOG),
      OPENAI_BASE_URL: openai.url,
      OPENAI_API_KEY: "sk-oa",
      ANTHROPIC_BASE_URL: anthropic.url,
      ANTHROPIC_API_KEY: "sk-an",
      GEMINI_BASE_URL: gemini.url,
      GEMINI_API_KEY: "sk-ge",
    },
  });
}, 60_000);
afterAll(async () => {
  await s?.stop();
  await Promise.all([openai?.close(), anthropic?.close(), gemini?.close()]);
});

test.each([
  ["oa-flash", "from openai"],
  ["an-flash", "from anthropic"],
  ["ge-flash", "from gemini"],
])("%s is served by its own provider's API, streamed, with reported usage", async (model, reply) => {
  const a = apiClient(s.url, s.key);
  const id = (
    await a.post<Json>("/v1/jobs", {
      model,
      messages: [
        { role: "system", content: "be terse" },
        { role: "user", content: "hi" },
      ],
      max_tokens: 50,
    })
  ).body.id as string;
  const events = (await readSse(`${s.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${s.key}` } })).events;
  const text = events
    .filter((e) => e.event === "delta")
    .map((e) => JSON.parse(e.data).text)
    .join("");
  expect(text).toBe(reply);
  const job = (await a.get<Json>(`/v1/jobs/${id}`)).body;
  expect(job).toMatchObject({ status: "succeeded", served_model: model, output: { text: reply }, usage: { provenance: "reported" } });
  expect(job.usage.input_tokens).toBeGreaterThan(0);
  expect(job.usage.output_tokens).toBeGreaterThan(0);
});

test("an Anthropic overload falls back to another provider of the same tier", async () => {
  anthropic.setMode({ kind: "error", status: 529 });
  const a = apiClient(s.url, s.key);
  const id = (await a.post<Json>("/v1/jobs", { model: "an-flash", messages: [{ role: "user", content: "hi" }] })).body.id as string;
  await readSse(`${s.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${s.key}` } });
  const job = (await a.get<Json>(`/v1/jobs/${id}`)).body;
  expect(job.status).toBe("succeeded");
  expect(job.served_model).not.toBe("an-flash");
  expect(job.routing.fallbacks[0]).toMatchObject({ from: "an-flash", kind: "error" });
  anthropic.setMode({ kind: "ok" });
});
