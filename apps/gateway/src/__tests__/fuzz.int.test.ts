import { apiClient, startStack, waitFor, type Stack } from "@switchyard/testkit";
import fc from "fast-check";
import { request as httpRequest, Agent } from "node:http";
import { join } from "node:path";
import { sql } from "kysely";
import { adversarialTokenBodies, declaredRoutes, requestFor, type FuzzRequest } from "./fuzz-requests";

/**
 * Seeded, bounded, property-based fuzzing of every route the gateway declares, with a valid admin
 * key: malformed, oversized, compressed-garbage, NUL-bearing, deeply nested, prototype-key and
 * adversarial-tokenizer bodies and paths. Properties: no 5xx and every 4xx is a JSON error naming
 * what is wrong; `/health` answers in ≤ 100 ms (p99) throughout; every job the fuzz got accepted
 * ends and reaches the ledger.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261206);
const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS_PER_ROUTE ?? 25);
const CONCURRENCY = 4;

let stack: Stack;
const routes = declaredRoutes(join(__dirname, "../routes"));

interface Outcome {
  req: FuzzRequest;
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function send(base: URL, key: string, req: FuzzRequest, agent: Agent): Promise<Outcome> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { authorization: `Bearer ${key}`, ...req.headers };
    if (req.body) headers["content-length"] = req.body.length;
    const r = httpRequest({ host: base.hostname, port: base.port, method: req.method, path: req.path, headers, agent, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      // Streams (SSE) only need their status: stop reading once headers came.
      if (String(res.headers["content-type"] ?? "").startsWith("text/event-stream")) {
        res.destroy();
        return resolve({ req, status: res.statusCode ?? 0, body: "", headers: res.headers });
      }
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ req, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), headers: res.headers }));
      res.on("error", () => resolve({ req, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), headers: res.headers }));
    });
    r.on("timeout", () => r.destroy(new Error("timed out after 60 s")));
    // A server that answers early (413, 400) may close before the whole body went out: that is fine.
    r.on("error", (err) => resolve({ req, status: -1, body: err.message, headers: {} }));
    r.end(req.body ?? undefined);
  });
}

/** Runs `fn` over `items` with at most `n` in flight. */
async function pool<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/** Polls `/health` every 10 ms on its own connection until stopped; returns each latency in ms. */
function healthProbe(base: URL): { stop: () => Promise<number[]> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    const deadline = Date.now() + 10 * 60_000;
    while (running && Date.now() < deadline) {
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        const r = httpRequest({ host: base.hostname, port: base.port, path: "/health", agent, timeout: 5000 }, (res) => {
          res.resume();
          res.on("end", () => resolve());
        });
        r.on("timeout", () => r.destroy());
        r.on("error", () => resolve());
        r.end();
      });
      latencies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      agent.destroy();
      return latencies;
    },
  };
}

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;

/** What is wrong with one answer, or null: no 5xx, no dropped connection, 4xx in the error shape. */
function problem(o: Outcome): string | null {
  if (o.status === -1) return `no answer: ${o.body}`;
  if (o.status >= 500) return `${o.status}: ${o.body.slice(0, 300)}`;
  if (o.status >= 400 && o.req.route !== "GET /dashboard") {
    try {
      const e = (JSON.parse(o.body) as { error?: { type?: string; message?: string } }).error;
      if (!e?.type || !e.message) return `${o.status} without an error object: ${o.body.slice(0, 200)}`;
    } catch {
      return `${o.status} with a body that is not JSON: ${o.body.slice(0, 200)}`;
    }
  }
  return null;
}

beforeAll(async () => {
  stack = await startStack({ apps: ["gateway", "router-worker", "usage-aggregator", "rag-worker"], env: { LOG_LEVEL: "warn" } });
  // Let the tokenizer meet the worst input: no per-request token cap short of the body limit.
  await sql`UPDATE deployments SET rate_limits = rate_limits || '{"tokens_per_request": 100000000}'::jsonb`.execute(stack.database.db);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

it("finds every route the gateway declares", () => {
  expect(routes.length).toBeGreaterThanOrEqual(40);
  expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(
    expect.arrayContaining(["POST /v1/jobs", "POST /v1/chat/completions", "GET /v1/jobs/:id/events", "POST /admin/v1/tenants"]),
  );
});

it("answers every fuzzed request with a 2xx–4xx, keeps /health fast, and bills every job it accepted", async () => {
  const base = new URL(stack.url);
  const api = apiClient(stack.url, stack.key);
  const seedJobs = await Promise.all(
    [1, 2, 3].map((i) => api.post<{ id: string }>("/v1/jobs", { messages: [{ role: "user", content: `seed ${i}` }], max_tokens: 16 })),
  );
  const tenant = await sql<{
    id: string;
    deployment_id: string;
  }>`SELECT t.id, d.id AS deployment_id FROM tenants t JOIN deployments d ON d.tenant_id = t.id LIMIT 1`.execute(stack.database.db);
  const { id: tenantId, deployment_id: deploymentId } = tenant.rows[0]!;
  const ids: Record<string, readonly string[]> = {
    id: [...seedJobs.map((j) => j.body.id), tenantId, deploymentId, "job_0000000000000000000000"],
    collection: ["kb", "k\u00e9"],
    model: ["no-such-model"], // never a catalog model: a forced-open breaker would stall the ledger check
    queue: ["ai-index", "no-such-queue"],
    feature: ["ragEnabled", "bogus"],
    user_id: ["user-1"],
    default: ["x"],
  };

  const requests = routes.flatMap((route, i) => fc.sample(requestFor(route, ids), { seed: SEED + i, numRuns: RUNS_PER_ROUTE }));
  // The tokenizer's worst cases, on both ways in that count tokens.
  for (const b of adversarialTokenBodies()) {
    for (const path of ["/v1/jobs", "/v1/chat/completions"])
      requests.push({ route: `POST ${path}`, method: "POST", path, headers: { "content-type": "application/json" }, body: b, kind: "adversarial-tokens" });
  }

  const probe = healthProbe(base);
  const agent = new Agent({ keepAlive: false });
  const t0 = Date.now();
  const outcomes = await pool(requests, CONCURRENCY, (req) => send(base, stack.key, req, agent));
  const latencies = await probe.stop();
  agent.destroy();

  const problems = outcomes.flatMap((o) => {
    const p = problem(o);
    return p ? [`${o.req.route} [${o.req.kind}] ${o.req.method} ${o.req.path.slice(0, 120)} → ${p}`] : [];
  });
  const byStatus = new Map<number, number>();
  for (const o of outcomes) byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
  process.stdout.write(
    `fuzz: ${outcomes.length} requests over ${routes.length} routes in ${Date.now() - t0} ms (seed ${SEED}); statuses ${JSON.stringify(Object.fromEntries(byStatus))}; /health ${latencies.length} probes p99 ${p99(latencies).toFixed(1)} ms max ${Math.max(...latencies).toFixed(1)} ms\n`,
  );
  if (process.env.FUZZ_VERBOSE) {
    const perRoute = new Map<string, Record<number, number>>();
    for (const o of outcomes) {
      const m = perRoute.get(o.req.route) ?? {};
      m[o.status] = (m[o.status] ?? 0) + 1;
      perRoute.set(o.req.route, m);
    }
    for (const [route, m] of perRoute) process.stdout.write(`  ${route} ${JSON.stringify(m)}\n`);
  }
  expect(problems).toEqual([]);
  expect(latencies.length).toBeGreaterThan(50);
  expect(p99(latencies)).toBeLessThanOrEqual(100);

  // The fuzz reached past the door: some requests were admitted, some refused for each reason.
  const accepted = new Set<string>(seedJobs.map((j) => j.body.id));
  for (const o of outcomes) {
    const jobId = o.headers["x-switchyard-job-id"];
    if (typeof jobId === "string") accepted.add(jobId);
    if (o.req.route === "POST /v1/jobs" && (o.status === 202 || o.status === 200)) accepted.add((JSON.parse(o.body) as { id: string }).id);
  }
  expect(accepted.size).toBeGreaterThan(seedJobs.length);
  expect([...byStatus.keys()]).toEqual(expect.arrayContaining([400, 404, 413]));

  // The ledger is complete: every accepted job ended, and every job that ran has its usage row.
  const pending = await waitFor(
    async () => {
      const rows = await stack.database.db
        .selectFrom("jobs")
        .select(["id", "status"])
        .where("id", "in", [...accepted])
        .execute();
      if (rows.length < accepted.size) return undefined;
      const ran = rows.filter((r) => r.status === "succeeded" || r.status === "incomplete").map((r) => r.id);
      const billed = ran.length ? await stack.database.db.selectFrom("usage_events").select("job_id").distinct().where("job_id", "in", ran).execute() : [];
      return billed.length === ran.length ? { ran: ran.length, jobs: rows.length } : undefined;
    },
    120_000,
    `every accepted job (${accepted.size}) in the ledger`,
  );
  expect(pending.ran).toBeGreaterThan(0);
}, 900_000);
