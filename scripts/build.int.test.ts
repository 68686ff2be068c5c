import type { ModelCatalog } from "@switchyard/contracts";
import { apiClient, readSse, startFakeOpenAI, startStack, waitFor, writeTestCatalog, type FakeOpenAI, type Stack } from "@switchyard/testkit";
import { generateApiKey } from "@switchyard/db";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Client } from "pg";
import { APPS, buildApp, buildMigrate, distMain, MIGRATE_BUNDLE } from "./lib/build-apps";

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

let fake: FakeOpenAI;
let s: Stack;

beforeAll(async () => {
  for (const app of APPS) await buildApp(app);
  fake = await startFakeOpenAI({ reply: "Returns are accepted within 30 days [1]." });
  s = await startStack({
    apps: [...APPS],
    env: { SWITCHYARD_COMPILED_APPS: "1", MODEL_CATALOG_PATH: writeTestCatalog(CATALOG), OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: "sk-test" },
  });
}, 180_000);
afterAll(async () => {
  await s?.stop();
  await fake?.close();
});

test("each app's bundle is one main.js with its source map; no TypeScript loader in it", () => {
  for (const app of APPS) {
    const js = readFileSync(distMain(app), "utf8");
    expect(js).toMatch(/\/\/# sourceMappingURL=main\.js\.map\s*$/);
    expect(js).not.toMatch(/require\("tsx/);
    // Workspace packages are compiled in, not imported.
    expect(js).not.toMatch(/require\("@switchyard\//);
  }
});

test("the compiled apps (node apps/<app>/dist/main.js) run the whole path: a document indexed, a job with retrieval answered, its usage in the ledger, the dashboard page served", async () => {
  for (const app of APPS) expect(s.apps.get(app)!.child.spawnargs).toContain(distMain(app));
  const a = apiClient(s.url, s.key);
  expect(
    (
      await a.post<Json>("/v1/collections/help/documents", {
        id: "returns",
        title: "Returns",
        text: "Customers may return unworn shoes within 30 days of delivery for a full refund.",
      })
    ).status,
  ).toBe(202);
  await waitFor(
    async () => ((await a.get<Json>("/v1/collections/help/documents/returns")).body.status === "indexed" ? true : undefined),
    30_000,
    "the document to be indexed",
  );
  const submitted = await a.post<Json>("/v1/jobs", {
    messages: [{ role: "user", content: "How long do I have to return shoes?" }],
    rag: { collection: "help", top_k: 1 },
  });
  expect(submitted.status).toBe(202);
  const id = submitted.body.id as string;
  const events = (await readSse(`${s.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${s.key}` } })).events;
  expect(events.filter((e) => e.event === "status").map((e) => JSON.parse(e.data).status)).toEqual(["queued", "retrieving", "running"]);
  expect(events.at(-1)!.event).toBe("done");
  const job = (await a.get<Json>(`/v1/jobs/${id}`)).body;
  expect(job).toMatchObject({ status: "succeeded", output: { text: "Returns are accepted within 30 days [1]." } });
  expect(job.output.citations[0]).toMatchObject({ document_id: "returns" });
  await waitFor(
    async () => ((await s.database.db.selectFrom("usage_events").select("job_id").where("job_id", "=", id).executeTakeFirst()) ? true : undefined),
    30_000,
    "the job's usage row",
  );

  const page = await fetch(`${s.url}/dashboard`, { headers: { authorization: `Bearer ${s.key}` } });
  expect(page.status).toBe(200);
  expect(await page.text()).toContain("<html");
  for (const app of ["router-worker", "rag-worker", "usage-aggregator"] as const) {
    expect((await fetch(`http://127.0.0.1:${s.apps.get(app)!.port}/health/ready`)).status).toBe(200);
  }
}, 120_000);

test("the images' database setup compiled (node infra/dist/migrate.js) migrates an empty database and installs the bootstrap key it is given", async () => {
  await buildMigrate();
  const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  const name = `sy_build_${randomBytes(4).toString("hex")}`;
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const key = generateApiKey("secret").key;
    const env = { ...process.env, NODE_PATH: "", DATABASE_URL: url.toString(), SWITCHYARD_BOOTSTRAP_KEY: key };
    const run = () =>
      new Promise<{ code: number; out: string }>((resolve) =>
        execFile(process.execPath, [MIGRATE_BUNDLE], { env, timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: stdout + stderr })),
      );
    const first = await run();
    expect(first).toMatchObject({ code: 0 });
    const db = new Client({ connectionString: url.toString() });
    await db.connect();
    try {
      expect((await db.query("SELECT id FROM tenants")).rows.map((r) => r.id)).toContain("ten_demo");
      expect(Number((await db.query("SELECT count(*) FROM api_keys")).rows[0].count)).toBe(1);
    } finally {
      await db.end();
    }
    // Again: nothing to do, and it says so without failing.
    expect((await run()).code).toBe(0);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}, 120_000);
