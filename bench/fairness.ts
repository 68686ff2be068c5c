/**
 * Fair scheduling across tenants (issue 18): does a flood from one tenant hold back another's jobs,
 * and what does fairness cost in throughput?
 *
 * Two stacks in the same run, one after the other (gateway + router-worker, real Redis and
 * Postgres, one simulated model): fair scheduling on (the default), then FAIR_SCHEDULING=off
 * (plain BullMQ priority/FIFO order, the baseline). In each:
 *   1. idle: tenant B submits one job per second alone (BENCH_FAIR_IDLE_SECONDS): B's queue wait
 *      (started_at − created_at) on an idle system, and the service time (completed_at − started_at);
 *   2. flood: tenant A submits BENCH_FAIR_FLOOD jobs as fast as the gateway admits them while B
 *      keeps submitting one a second, until every job has ended or BENCH_FAIR_SECONDS pass: B's
 *      queue wait p50/p99 during the flood, and the throughput (jobs finished per second, the
 *      router-worker's ai_jobs_finished_total, from the flood's start to its end).
 * Prints B's flood wait next to the goal (≤ 2 × idle wait + one service time, fair run) and the
 * throughput fair ÷ FIFO (goal ≥ 0.9); writes bench/out/fairness.json.
 *
 *   pnpm bench:fair
 *   BENCH_FAIR_FLOOD=20000 BENCH_FAIR_SECONDS=300 BENCH_FAIR_IDLE_SECONDS=10 BENCH_FAIR_CONCURRENCY=16
 *   BENCH_MAX_TOKENS=8 BENCH_OUT=bench/out/fairness.json
 * Needs Redis (TEST_REDIS_URL, default 127.0.0.1:6379) and Postgres (TEST_DATABASE_URL), as the integration tests do.
 */
import { rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startStack, type Stack } from "@switchyard/testkit";
import { envInt, runBench, writeSimulatedCatalog, writeResult } from "./lib/bench-env";
import { round, summarize, table, type Summary } from "./lib/stats";

const REPO_ROOT = path.resolve(__dirname, "..");
const MODEL = "bench-sim";

function readConfig() {
  return {
    flood: envInt("BENCH_FAIR_FLOOD", 20_000),
    floodSeconds: envInt("BENCH_FAIR_SECONDS", 300),
    idleSeconds: envInt("BENCH_FAIR_IDLE_SECONDS", 10),
    concurrency: envInt("BENCH_FAIR_CONCURRENCY", 16),
    maxTokens: envInt("BENCH_MAX_TOKENS", 8),
    out: path.resolve(REPO_ROOT, process.env.BENCH_OUT ?? "bench/out/fairness.json"),
  };
}
type Config = ReturnType<typeof readConfig>;
type View = { id: string; status: string; created_at: string; started_at: string | null; completed_at: string | null };
type Json = Record<string, any>;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function call<T>(url: string, key: string, method: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** A second tenant with generous rate limits: its key. */
async function tenantB(stack: Stack): Promise<string> {
  const t = (await call<Json>(`${stack.url}/admin/v1/tenants`, stack.key, "POST", { name: "bench B" })).body;
  const limits = { rate_limits: { requests_per_minute: 1_000_000, requests_per_hour: 10_000_000, requests_per_day: 100_000_000 } };
  const p = await call<Json>(`${stack.url}/admin/v1/deployments/${t.default_deployment_id}`, stack.key, "PATCH", limits);
  if (p.status !== 200) throw new Error(`PATCH deployment: HTTP ${p.status}`);
  const k = (await call<Json>(`${stack.url}/admin/v1/tenants/${t.id}/api-keys`, stack.key, "POST", { name: "b", scopes: ["jobs:write", "jobs:read"] })).body;
  await sleep(1100); // deployment settings reach the gateway
  return k.key as string;
}

async function submit(stack: Stack, key: string, content: string, cfg: Config): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const r = await call<{ id?: string }>(`${stack.url}/v1/jobs`, key, "POST", {
      model: MODEL,
      max_tokens: cfg.maxTokens,
      messages: [{ role: "user", content }],
    });
    if (r.status === 202 && r.body.id) return r.body.id;
    if (attempt >= 5) throw new Error(`POST /v1/jobs: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    await sleep(200);
  }
}

const view = async (stack: Stack, key: string, id: string) => (await call<View>(`${stack.url}/v1/jobs/${id}`, key, "GET")).body;

/** B's jobs, one a second from now until `stop()` says so (their ids also in `ids` as they go). */
function everySecond(stack: Stack, key: string, cfg: Config, tag: string, stop: () => boolean, ids: string[] = []): Promise<string[]> {
  return (async () => {
    const t0 = Date.now();
    for (let i = 0; !stop(); i++) {
      ids.push(await submit(stack, key, `B ${tag} ${i}`, cfg));
      await sleep(Math.max(0, t0 + (i + 1) * 1000 - Date.now()));
    }
    return ids;
  })();
}

/** Queue waits and service times of jobs; a job not begun by `endedAt` counts as waiting until then (a lower bound). */
async function waits(
  stack: Stack,
  key: string,
  ids: string[],
  endedAt: number,
): Promise<{ wait: Summary; service: Summary; unstarted: number; waits: number[] }> {
  const views = await Promise.all(ids.map((id) => view(stack, key, id)));
  const wait = views.map((v) => (v.started_at ? Date.parse(v.started_at) : endedAt) - Date.parse(v.created_at));
  const service = views.filter((v) => v.started_at && v.completed_at).map((v) => Date.parse(v.completed_at!) - Date.parse(v.started_at!));
  return { wait: summarize(wait), service: summarize(service), unstarted: views.filter((v) => !v.started_at).length, waits: wait };
}

/** A router-worker counter's total over its series (ai_jobs_finished_total: jobs it finished, every status). */
async function counter(stack: Stack, name = "ai_jobs_finished_total"): Promise<number> {
  const port = stack.apps.get("router-worker")!.port;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))) n += Number(m[1]);
  return n;
}
const finished = (stack: Stack) => counter(stack);

async function runOne(cfg: Config, fair: boolean, catalogFile: string) {
  const tag = fair ? "fair" : "fifo";
  const env = {
    MODEL_CATALOG_PATH: catalogFile,
    LOG_LEVEL: "warn",
    ROUTER_CONCURRENCY: String(cfg.concurrency),
    FAIR_SCHEDULING: fair ? "on" : "off",
  };
  let stack: Stack | undefined;
  for (let attempt = 1; !stack; attempt++) {
    try {
      stack = await startStack({ apps: ["gateway", "router-worker"], env });
    } catch (err) {
      if (attempt >= 3) throw err;
      process.stdout.write(`stack start failed (${(err as Error).message.split("\n")[0]}); trying again\n`);
    }
  }
  try {
    const bKey = await tenantB(stack);
    // Warm-up: a few jobs of each tenant, not measured.
    await Promise.all(Array.from({ length: 10 }, (_, i) => submit(stack, i % 2 ? bKey : stack.key, `warm ${i}`, cfg)));
    await sleep(1000);

    // 1. B alone.
    const idleEnd = Date.now() + cfg.idleSeconds * 1000;
    const idleIds = await everySecond(stack, bKey, cfg, `${tag}-idle`, () => Date.now() >= idleEnd);
    await sleep(1000);
    const idle = await waits(stack, bKey, idleIds, Date.now());
    const viaLists = await counter(stack, "ai_fair_dispatch_total");
    process.stdout.write(
      `[${tag}] idle: B wait p50 ${idle.wait.p50} ms, p99 ${idle.wait.p99} ms; service p50 ${idle.service.p50} ms; ${viaLists} jobs so far went through the fair lists\n`,
    );

    // 2. The flood, with B every second.
    const before = await finished(stack);
    const t0 = Date.now();
    const deadline = t0 + cfg.floodSeconds * 1000;
    let submitted = 0;
    let floodDone = false;
    const flood = (async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < cfg.flood && Date.now() < deadline) {
            const i = next++;
            await submit(stack, stack.key, `A ${tag} ${i}`, cfg);
            submitted++;
          }
        }),
      );
    })();
    const bSoFar: string[] = [];
    const bIds = everySecond(stack, bKey, cfg, `${tag}-flood`, () => floodDone || Date.now() >= deadline, bSoFar);
    await flood;
    const submitSeconds = (Date.now() - t0) / 1000;
    process.stdout.write(`[${tag}] flood: ${submitted} jobs submitted in ${round(submitSeconds, 1)} s\n`);
    // Until every flood job (and B's) has finished, or the bound.
    let done = before;
    for (;;) {
      done = await finished(stack);
      if (done - before >= submitted + Math.max(0, bSoFar.length - 1) || Date.now() >= deadline) break;
      await sleep(500);
    }
    floodDone = true;
    const ids = await bIds;
    const endedAt = Date.now();
    const elapsed = (endedAt - t0) / 1000;
    await sleep(1000);
    const during = await waits(stack, bKey, ids, endedAt);
    const throughput = (done - before) / elapsed;
    process.stdout.write(
      `[${tag}] flood: ${done - before} jobs finished in ${round(elapsed, 1)} s (${round(throughput, 1)}/s); B wait p50 ${during.wait.p50} ms, p99 ${during.wait.p99} ms (${ids.length} jobs, ${during.unstarted} not begun by the end)\n` +
        `[${tag}] flood: B's waits in submit order (ms): ${during.waits.join(" ")}\n`,
    );
    return { idle, during, throughput, finished: done - before, elapsed, submitted, bJobs: ids.length, timedOut: Date.now() >= deadline };
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const cfg = readConfig();
  const catalog = writeSimulatedCatalog(MODEL, "fair");
  try {
    process.stdout.write(
      `fairness: tenant A floods ${cfg.flood} jobs while tenant B submits one a second; router concurrency ${cfg.concurrency}; ${os.cpus().length} CPUs\n`,
    );
    const fair = await runOne(cfg, true, catalog.file);
    const fifo = await runOne(cfg, false, catalog.file);
    const service = fair.idle.service.p50;
    const goalMs = 2 * fair.idle.wait.p99 + service;
    const ratio = fifo.throughput > 0 ? fair.throughput / fifo.throughput : NaN;
    process.stdout.write(
      "\n" +
        table(
          ["run", "B idle wait p50", "B idle wait p99", "B flood wait p50", "B flood wait p99", "service p50", "jobs/s", "finished", "seconds"],
          [fair, fifo].map((r, i) => [
            i === 0 ? "fair" : "FIFO (off)",
            r.idle.wait.p50,
            r.idle.wait.p99,
            r.during.wait.p50,
            r.during.wait.p99,
            r.idle.service.p50,
            round(r.throughput, 1),
            r.finished,
            round(r.elapsed, 1),
          ]),
        ) +
        "\n\n" +
        table(
          ["goal", "measure", "value", "target", "met"],
          [
            [
              "F1",
              `B flood wait p99 (fair) vs 2 × idle p99 + one service time (2 × ${fair.idle.wait.p99} + ${service} ms)`,
              `${fair.during.wait.p99} ms`,
              `<= ${round(goalMs)} ms`,
              fair.during.wait.p99 <= goalMs ? "yes" : "NO",
            ],
            ["F2", "throughput fair ÷ FIFO (jobs/s)", round(ratio, 3), ">= 0.9", ratio >= 0.9 ? "yes" : "NO"],
            ["", "B flood wait p99, FIFO (for comparison)", `${fifo.during.wait.p99} ms`, "", ""],
          ],
        ) +
        "\n",
    );
    if (fair.timedOut || fifo.timedOut) process.stdout.write(`note: a flood phase hit BENCH_FAIR_SECONDS=${cfg.floodSeconds} before every job finished\n`);
    writeResult(cfg.out, { config: cfg, fair, fifo, serviceMs: service, goalMs, throughputRatio: ratio }, REPO_ROOT);
  } finally {
    rmSync(catalog.dir, { recursive: true, force: true });
  }
}

runBench(main);
