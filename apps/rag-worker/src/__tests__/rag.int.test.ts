import type { ModelCatalog } from "@switchyard/contracts";
import { apiClient, readSse, startFakeOpenAI, startStack, waitFor, writeTestCatalog, type FakeOpenAI, type Stack } from "@switchyard/testkit";

type Json = Record<string, any>;
const CATALOG: ModelCatalog = {
  default_model: "up",
  models: [
    {
      id: "up",
      provider: "openai",
      upstream_model: "gpt-4o-mini",
      tier: "flash",
      capabilities: { vision: false, long_context: false },
      context_window: 128000,
      max_output_tokens: 4096,
      pricing: { input: 0.15, output: 0.6, cached_input: 0 },
    },
  ],
};
const DOCS = [
  {
    id: "returns",
    title: "Returns policy",
    source_url: "https://help.example.com/returns",
    text: "Customers may return unworn shoes within 30 days of delivery for a full refund. Refunds go back to the original payment method within 5 business days.",
  },
  {
    id: "shipping",
    title: "Shipping times",
    source_url: "https://help.example.com/shipping",
    text: "Standard shipping takes 3 to 5 business days. Express shipping arrives the next business day when ordered before noon.",
  },
  {
    id: "warranty",
    title: "Warranty",
    source_url: "https://partner.other.org/warranty",
    text: "Every pair of boots carries a two year warranty against manufacturing defects in the sole and stitching.",
  },
];

let fake: FakeOpenAI;
let s: Stack;
let a: ReturnType<typeof apiClient>;
let b: ReturnType<typeof apiClient>;

beforeAll(async () => {
  fake = await startFakeOpenAI({ reply: "Returns are accepted within 30 days [1]." });
  s = await startStack({
    apps: ["gateway", "router-worker", "rag-worker", "usage-aggregator"],
    env: { MODEL_CATALOG_PATH: writeTestCatalog(CATALOG), OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: "sk-test" },
  });
  a = apiClient(s.url, s.key);
  const t = (await a.post<Json>("/admin/v1/tenants", { name: "other" })).body;
  b = apiClient(
    s.url,
    (await a.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "b", scopes: ["jobs:write", "jobs:read", "documents:write", "documents:read"] })).body
      .key,
  );
  for (const d of DOCS) expect((await a.post<Json>("/v1/collections/help/documents", d)).status).toBe(202);
  await waitFor(
    async () => {
      const all = await Promise.all(DOCS.map(async (d) => (await a.get<Json>(`/v1/collections/help/documents/${d.id}`)).body));
      return all.every((x) => x.status === "indexed" && x.chunks > 0) ? true : undefined;
    },
    30_000,
    "documents to be indexed",
  );
}, 90_000);
afterAll(async () => {
  await s?.stop();
  await fake?.close();
});

test("documents are indexed and searchable, with PII redacted from the query", async () => {
  const doc = (await a.get<Json>("/v1/collections/help/documents/returns")).body;
  expect(doc).toMatchObject({ id: "returns", object: "document", collection: "help", title: "Returns policy", status: "indexed" });
  const r = await a.post<Json>("/v1/collections/help/search", { query: "how many days do I have to return shoes? mail me at jane.doe@example.com", top_k: 3 });
  expect(r.status).toBe(200);
  expect(r.body.query).toContain("[EMAIL]");
  expect(r.body.query).not.toContain("jane.doe");
  expect(r.body.data[0]).toMatchObject({ document_id: "returns" });
  expect(r.body.data[0].score).toBeGreaterThan(0);
});

test("a job with rag retrieves first (status retrieving), cites its sources, and sends them as untrusted reference material", async () => {
  const before = fake.requests.length;
  const id = (
    await a.post<Json>("/v1/jobs", {
      messages: [{ role: "user", content: "What is the refund window for returned shoes?" }],
      rag: { collection: "help", top_k: 2 },
    })
  ).body.id as string;
  const events = (await readSse(`${s.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${s.key}` } })).events;
  const statuses = events.filter((e) => e.event === "status").map((e) => JSON.parse(e.data).status);
  expect(statuses).toEqual(["queued", "retrieving", "running"]); // queued: the gateway opens every stream read from the start with it
  const cit = events.find((e) => e.event === "citations")!;
  expect(JSON.parse(cit.data).citations[0]).toMatchObject({ document_id: "returns", title: "Returns policy", source: "https://help.example.com/returns" });
  expect(events.findIndex((e) => e.event === "citations")).toBeLessThan(events.findIndex((e) => e.event === "delta"));
  const job = (await a.get<Json>(`/v1/jobs/${id}`)).body;
  expect(job.status).toBe("succeeded");
  expect(job.output.no_sources).toBe(false);
  expect(job.output.citations.map((c: Json) => c.document_id)).toContain("returns");
  const sent = fake.requests.slice(before).find((x) => x.path === "/v1/chat/completions")!.body as Json;
  const system = sent.messages[0];
  expect(system.role).toBe("system");
  expect(system.content).toMatch(/UNTRUSTED DATA/);
  expect(system.content).toMatch(/<reference id="1" title="Returns policy"/);
  expect(system.content).toContain("within 30 days");
  expect(sent.messages.at(-1)).toEqual({ role: "user", content: "What is the refund window for returned shoes?" });
  const usage = await waitFor(async () => s.database.db.selectFrom("usage_events").select(["rag", "features"]).where("job_id", "=", id).executeTakeFirst());
  expect(usage.rag).toMatchObject({ hit: true });
  expect(usage.features).toEqual(["rag"]);
});

test("an empty retrieval still answers with no_sources, counts a miss, and indexes documents still pending", async () => {
  // A document written straight to the table, as if its indexing job had been lost.
  await s.database.db
    .insertInto("documents")
    .values({
      tenant_id: "ten_demo",
      collection: "late",
      id: "orphan",
      title: "Orphan",
      text: "Gift cards never expire and can be used online or in stores.",
      status: "pending",
      metadata: "{}",
      content_hash: "x",
    } as never)
    .execute();
  const id = (await a.post<Json>("/v1/jobs", { messages: [{ role: "user", content: "zzzz qqqq unrelated words" }], rag: { collection: "empty-collection" } }))
    .body.id as string;
  await readSse(`${s.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${s.key}` } });
  const job = (await a.get<Json>(`/v1/jobs/${id}`)).body;
  expect(job).toMatchObject({ status: "succeeded", output: { no_sources: true, citations: [] } });
  const metrics = await (await fetch(`http://127.0.0.1:${s.apps.get("rag-worker")!.port}/metrics`)).text();
  expect(Number(/ai_rag_requests_total\{result="miss"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
  // A miss in the "late" collection triggers indexing of its pending document.
  await a.post<Json>("/v1/jobs", { messages: [{ role: "user", content: "nothing matches here xyzzy" }], rag: { collection: "late" } });
  await waitFor(
    async () => ((await a.get<Json>("/v1/collections/late/documents/orphan")).body.status === "indexed" ? true : undefined),
    20_000,
    "the pending document to be indexed",
  );
});

test("another tenant sees none of it: 404 on documents, nothing in search", async () => {
  expect((await b.get<Json>("/v1/collections/help/documents/returns")).status).toBe(404);
  expect((await b.delete<Json>("/v1/collections/help/documents/returns")).status).toBe(404);
  const r = await b.post<Json>("/v1/collections/help/search", { query: "return shoes refund" });
  expect(r.status).toBe(200);
  expect(r.body.data).toEqual([]);
  expect((await a.get<Json>("/v1/collections/help/documents/returns")).status).toBe(200);
});

test("rag on a deployment without ragEnabled is 403 feature_disabled; a source-domain allow-list drops other domains", async () => {
  const t = (await a.post<Json>("/admin/v1/tenants", { name: "minimal" })).body;
  const key = (await a.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "m", scopes: ["jobs:write", "jobs:read", "documents:read"] })).body.key;
  await a.post(`/admin/v1/deployments/${t.default_deployment_id}/preset`, { preset: "minimal" });
  await new Promise((r) => setTimeout(r, 1100));
  const m = apiClient(s.url, key);
  const r = await m.post<Json>("/v1/jobs", { messages: [{ role: "user", content: "x" }], rag: { collection: "help" } });
  expect(r.status).toBe(403);
  expect(r.body.error).toMatchObject({ code: "feature_disabled", param: "rag" });

  const demo = (await a.get<Json>("/admin/v1/tenants/ten_demo/deployments")).body.data[0];
  const warranty = async () =>
    (await a.post<Json>("/v1/collections/help/search", { query: "boots warranty defects sole stitching", top_k: 5 })).body.data.map((c: Json) => c.document_id);
  expect(await warranty()).toContain("warranty");
  await a.call("PATCH", `/admin/v1/deployments/${demo.id}`, { body: { allowed_source_domains: ["help.example.com"] } });
  await new Promise((r) => setTimeout(r, 1100));
  expect(await warranty()).not.toContain("warranty");
  await a.call("PATCH", `/admin/v1/deployments/${demo.id}`, { body: { allowed_source_domains: [] } });
});
