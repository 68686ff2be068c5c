/**
 * SSE fan-out (issue 14): how many followers of `GET /v1/jobs/{id}/events` one gateway process
 * holds, how fast events reach them, and what they cost.
 *
 * For each follower count N and each way in (BENCH_SSE_VIA, default both, in one run): `raw`, the
 * gateway's raw follow front (apps/gateway/src/raw-follow-front.ts, the bare socket), and
 * `express`, the same requests with an `Origin` no deployment allows, which the front leaves to
 * node:http and express (the answer is the same: such an Origin adds no CORS header), as the
 * baseline measured in the same run. Then a fresh gateway process (no worker: the bench writes the events
 * itself, through `JobStore.append`, the call a worker makes for every delta), N live jobs created
 * through `POST /v1/jobs`, and N followers (BENCH_SSE_FOLLOWERS_PER_JOB per job, default 1) held by
 * a child process on raw sockets. Then:
 *   1. Memory per follower: the followers join in BENCH_SSE_RSS_STEPS (default 5) equal steps;
 *      before the first and after each, the bench forces two full garbage collections in the
 *      gateway (through its inspector, `--inspect` on a free loopback port) and reads its RSS
 *      (/proc) and V8 heap in use. RSS and heap per follower are the least-squares slopes over
 *      those points, so neither where the last collection happened to be nor one step's heap
 *      growth decides the figure (a single after − before difference moved 3–23 KiB run to run).
 *   2. Idle: after BENCH_SSE_SETTLE_SECONDS (default 20: the garbage collections that follow
 *      opening thousands of connections are the cost of opening them, not of holding them),
 *      BENCH_SSE_IDLE_SECONDS with no events: the gateway's CPU (% of one core) and Redis's. The
 *      default is two heartbeat intervals, so the window holds whole heartbeat cycles.
 *   3. Load: events at BENCH_SSE_RATE per second over random jobs (all of them, or the first
 *      BENCH_SSE_ACTIVE_JOBS, the other followers staying idle) for BENCH_SSE_SECONDS: delivery
 *      latency (event's stream id → the bytes read on the follower's socket) p50/p99, the gateway's
 *      CPU, and Redis CPU per event written.
 *
 * Prints a table and writes `bench/out/sse-fanout.json`. Options (env):
 *   BENCH_SSE_COUNTS=1000,10000  BENCH_SSE_RATE=500  BENCH_SSE_SECONDS=20  BENCH_SSE_IDLE_SECONDS=30
 *   BENCH_SSE_ACTIVE_JOBS (default: all)  BENCH_SSE_VIA=raw,express
 *   BENCH_SSE_FOLLOWERS_PER_JOB=1  BENCH_SSE_HEARTBEAT_MS=15000 (the gateway's default)
 *   BENCH_SSE_RSS_STEPS=5
 *   BENCH_OUT=bench/out/sse-fanout.json
 *   BENCH_SSE_OWN_REDIS=1 (default): a private `redis-server` on a free loopback port, so Redis CPU
 *   is this bench's alone; 0 uses TEST_REDIS_URL.
 * Needs `redis-server` on PATH (or Redis at TEST_REDIS_URL) and Postgres (TEST_DATABASE_URL). Each
 * process may hold at most `ulimit -n` sockets (20 000 here), so N stays below that.
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { createRedis, JobStore, RedisKeys } from "@switchyard/queue";
import { freePort, httpOk, spawnApp, startStack, TEST_REDIS_URL, type SpawnedApp, type Stack } from "@switchyard/testkit";
import { Pool } from "undici";
import { envInt, runBench, writeResult } from "./lib/bench-env";
import { InspectorSession, slope } from "./lib/inspector";
import { processTreeCpuMs } from "./lib/proc-cpu";
import { round, summarize, table, type Summary } from "./lib/stats";

const REPO_ROOT = path.resolve(__dirname, "..");

type Via = "raw" | "express";
/** Header lines that make the raw front leave a follow to node:http and express, with the same answer. */
const VIA_HEADERS: Record<Via, string> = { raw: "", express: "Origin: http://sse-bench.invalid\r\n" };

function readConfig() {
  const counts = (process.env.BENCH_SSE_COUNTS ?? "1000,10000").split(",").map((s) => Number(s.trim()));
  if (counts.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error(`BENCH_SSE_COUNTS must be a comma-separated list of positive integers, got ${process.env.BENCH_SSE_COUNTS}`);
  return {
    counts,
    via: (process.env.BENCH_SSE_VIA ?? "raw,express").split(",").map((v) => {
      const t = v.trim();
      if (t !== "raw" && t !== "express") throw new Error(`BENCH_SSE_VIA must list raw and/or express, got ${process.env.BENCH_SSE_VIA}`);
      return t;
    }),
    rate: envInt("BENCH_SSE_RATE", 500),
    seconds: envInt("BENCH_SSE_SECONDS", 20),
    idleSeconds: envInt("BENCH_SSE_IDLE_SECONDS", Math.ceil((2 * envInt("BENCH_SSE_HEARTBEAT_MS", 15_000, 100)) / 1000)),
    activeJobs: envInt("BENCH_SSE_ACTIVE_JOBS", Number.MAX_SAFE_INTEGER),
    settleSeconds: envInt("BENCH_SSE_SETTLE_SECONDS", 20, 0),
    perJob: envInt("BENCH_SSE_FOLLOWERS_PER_JOB", 1),
    rssSteps: envInt("BENCH_SSE_RSS_STEPS", 5),
    heartbeatMs: envInt("BENCH_SSE_HEARTBEAT_MS", 15_000, 100),
    ownRedis: process.env.BENCH_SSE_OWN_REDIS !== "0",
    out: path.resolve(REPO_ROOT, process.env.BENCH_OUT ?? "bench/out/sse-fanout.json"),
  };
}
type Config = ReturnType<typeof readConfig>;

interface Result {
  via: Via;
  followers: number;
  jobs: number;
  held: number;
  failed: number;
  dropped: number;
  rss_before_mib: number;
  rss_after_mib: number;
  /** Slopes over the steps' points (after full collections). */
  rss_per_follower_kib: number;
  heap_per_follower_kib: number;
  /** The points: followers, RSS and heap in use (KiB). */
  memory_points: Array<{ followers: number; rss_kib: number; heap_kib: number }>;
  idle_gateway_cpu_pct: number;
  idle_redis_cpu_pct: number;
  events_written: number;
  events_received: number;
  latency_ms: Summary;
  load_gateway_cpu_pct: number;
  redis_cpu_us_per_event: number;
}

const rssKiB = (pid: number): number => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function redisCpuMs(redis: ReturnType<typeof createRedis>): Promise<number> {
  const info = await redis.info("cpu");
  const get = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, "m").exec(info)?.[1] ?? NaN);
  return (get("used_cpu_user") + get("used_cpu_sys")) * 1000;
}

/** One request/reply exchange with the follower process. */
function ask<T>(child: ChildProcess, msg: unknown, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`follower process: no reply to ${JSON.stringify(msg).slice(0, 60)} within ${timeoutMs} ms`)), timeoutMs);
    child.once("message", (m) => {
      clearTimeout(timer);
      resolve(m as T);
    });
    child.send(msg as object);
  });
}

async function createJobs(url: string, key: string, n: number): Promise<string[]> {
  const pool = new Pool(url, { connections: 16, pipelining: 1 });
  const ids: string[] = [];
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      const res = await pool.request({
        path: "/v1/jobs",
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "idempotency-key": `sse-bench-${process.pid}-${Date.now()}-${i}` },
        body: JSON.stringify({ messages: [{ role: "user", content: `follow me ${i}` }] }),
      });
      const body = (await res.body.json()) as { id?: string };
      if (res.statusCode !== 202 || !body.id) throw new Error(`POST /v1/jobs: ${res.statusCode} ${JSON.stringify(body).slice(0, 200)}`);
      ids.push(body.id);
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  await pool.close();
  return ids;
}

/** Events at `rate`/s over random jobs for `ms`, through the worker's own call; returns how many were written. */
async function writeEvents(store: JobStore, jobIds: string[], rate: number, ms: number): Promise<number> {
  const start = performance.now();
  let written = 0;
  const pending = new Set<Promise<unknown>>();
  while (performance.now() - start < ms) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    for (; written < due; written++) {
      const jobId = jobIds[Math.floor(Math.random() * jobIds.length)]!;
      const p = store.append(jobId, { type: "delta", data: { text: "tok " } }).finally(() => pending.delete(p));
      pending.add(p);
    }
    await sleep(5);
  }
  await Promise.all(pending);
  return written;
}

/** A private Redis (no persistence) on a free loopback port; stopped with the returned function. */
async function startOwnRedis(): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  const probe = createRedis(`redis://127.0.0.1:${port}`, { lazyConnect: true, retryStrategy: () => 100 }).on("error", () => undefined); // refused until it listens
  const deadline = Date.now() + 10_000;
  for (;;) {
    if ((await probe.ping().catch(() => null)) === "PONG") break;
    if (Date.now() > deadline) throw new Error("redis-server did not answer within 10 s");
    await sleep(100);
  }
  probe.disconnect();
  return { url: `redis://127.0.0.1:${port}`, stop: () => void child.kill("SIGKILL") };
}

async function runOne(cfg: Config, stack: Stack, redisUrl: string, n: number, via: Via): Promise<Result> {
  // Spawned here rather than through `stack.spawn`: on a busy machine a gateway can take longer
  // than the stack's 30 s to answer.
  const port = await freePort();
  const inspectPort = await freePort();
  const gateway: SpawnedApp = await spawnApp(
    "gateway",
    {
      ...stack.env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --inspect=127.0.0.1:${inspectPort}`.trim(),
      PORT: String(port),
      SSE_HEARTBEAT_MS: String(cfg.heartbeatMs),
      SSE_WARN_CONNECTIONS: String(n * 2),
      SSE_CRITICAL_CONNECTIONS: String(n * 2),
    },
    () => httpOk(`http://127.0.0.1:${port}/health`),
    180_000,
    port,
  );
  const url = `http://127.0.0.1:${gateway.port}`;
  const redis = createRedis(redisUrl, { connectionName: `${stack.prefix}-bench-writer` });
  const store = new JobStore({ redis, keys: new RedisKeys(stack.prefix) });
  const child = fork(path.join(__dirname, "lib/sse-followers.ts"), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    const jobs = Math.ceil(n / cfg.perJob);
    process.stdout.write(`N=${n} via ${via}: creating ${jobs} jobs… `);
    const jobIds = await createJobs(url, stack.key, jobs);
    const followerJobs = Array.from({ length: n }, (_, i) => jobIds[i % jobs]!);
    await sleep(2000);
    const pid = gateway.child.pid!;
    const inspector = await InspectorSession.connect(inspectPort);
    const points: Result["memory_points"] = [];
    const measure = async (followers: number) => {
      await inspector.collectGarbage();
      await sleep(1000);
      await inspector.collectGarbage();
      const mem = await inspector.memoryUsage();
      points.push({ followers, rss_kib: rssKiB(pid), heap_kib: round(mem.heapUsed / 1024) });
    };
    await measure(0);
    process.stdout.write(`opening ${n} followers in ${cfg.rssSteps} steps… `);
    const opened = { held: 0, failed: 0, errors: [] as string[] };
    for (let step = 0; step < cfg.rssSteps; step++) {
      const slice = followerJobs.slice(Math.floor((step * n) / cfg.rssSteps), Math.floor(((step + 1) * n) / cfg.rssSteps));
      const got = await ask<{ held: number; failed: number; errors: string[] }>(
        child,
        { cmd: "open", port: gateway.port, key: stack.key, jobIds: slice, concurrency: 64, extraHeaders: VIA_HEADERS[via] },
        300_000,
      );
      opened.held = got.held;
      opened.failed += got.failed;
      opened.errors.push(...got.errors);
      await sleep(1000);
      await measure(got.held);
    }
    inspector.close();
    if (opened.errors.length) process.stdout.write(`\n  follower errors: ${opened.errors.slice(0, 5).join("; ")}\n`);
    const xy = (k: "rss_kib" | "heap_kib") => points.map((p) => ({ x: p.followers, y: p[k] }));

    process.stdout.write(`settle ${cfg.settleSeconds} s, idle ${cfg.idleSeconds} s… `);
    await sleep(cfg.settleSeconds * 1000);
    let g0 = processTreeCpuMs(pid) ?? NaN;
    let r0 = await redisCpuMs(redis);
    await sleep(cfg.idleSeconds * 1000);
    const idleGw = ((processTreeCpuMs(pid) ?? NaN) - g0) / (cfg.idleSeconds * 10);
    const idleRedis = ((await redisCpuMs(redis)) - r0) / (cfg.idleSeconds * 10);

    process.stdout.write(`load ${cfg.rate}/s over ${Math.min(jobs, cfg.activeJobs)} jobs for ${cfg.seconds} s…\n`);
    const active = jobIds.slice(0, cfg.activeJobs);
    await writeEvents(store, active, cfg.rate, 2000); // warm-up, not recorded
    await ask(child, { cmd: "record", on: true }, 10_000);
    g0 = processTreeCpuMs(pid) ?? NaN;
    r0 = await redisCpuMs(redis);
    const t0 = performance.now();
    const written = await writeEvents(store, active, cfg.rate, cfg.seconds * 1000);
    await sleep(1000); // let the last ones arrive
    const elapsed = performance.now() - t0;
    const loadGw = ((processTreeCpuMs(pid) ?? NaN) - g0) / (elapsed / 100);
    const redisMs = (await redisCpuMs(redis)) - r0;
    const rec = await ask<{ latencies: number[]; received: number; held: number; dropped: number }>(child, { cmd: "record", on: false }, 30_000);
    return {
      via,
      followers: n,
      jobs,
      held: rec.held,
      failed: opened.failed,
      dropped: rec.dropped,
      rss_before_mib: round(points[0]!.rss_kib / 1024),
      rss_after_mib: round(points[points.length - 1]!.rss_kib / 1024),
      rss_per_follower_kib: round(slope(xy("rss_kib"))),
      heap_per_follower_kib: round(slope(xy("heap_kib"))),
      memory_points: points,
      idle_gateway_cpu_pct: round(idleGw),
      idle_redis_cpu_pct: round(idleRedis),
      events_written: written,
      events_received: rec.received,
      latency_ms: summarize(rec.latencies),
      load_gateway_cpu_pct: round(loadGw),
      redis_cpu_us_per_event: round((redisMs * 1000) / written),
    };
  } finally {
    await ask(child, { cmd: "close" }, 30_000).catch(() => undefined);
    child.kill("SIGKILL");
    gateway.kill("SIGTERM");
    await Promise.race([gateway.exited, sleep(10_000)]);
    gateway.kill("SIGKILL");
    redis.disconnect();
  }
}

/** Per follower count run both ways: the raw front's figures ÷ express's (below 1: the front costs less). */
function ratios(results: Result[]): string {
  let out = "";
  for (const raw of results.filter((r) => r.via === "raw")) {
    const base = results.find((r) => r.via === "express" && r.followers === raw.followers);
    if (!base) continue;
    const x = (a: number, b: number) => (b > 0 ? `${round(a / b, 2)}×` : "n/a");
    out +=
      `raw ÷ express at N=${raw.followers}: RSS/follower ${x(raw.rss_per_follower_kib, base.rss_per_follower_kib)}, heap/follower ${x(raw.heap_per_follower_kib, base.heap_per_follower_kib)}, ` +
      `p99 ${x(raw.latency_ms.p99, base.latency_ms.p99)}, gw CPU idle ${x(raw.idle_gateway_cpu_pct, base.idle_gateway_cpu_pct)}, gw CPU load ${x(raw.load_gateway_cpu_pct, base.load_gateway_cpu_pct)}\n`;
  }
  return out;
}

async function main(): Promise<void> {
  const cfg = readConfig();
  const own = cfg.ownRedis ? await startOwnRedis() : null;
  const redisUrl = own?.url ?? TEST_REDIS_URL;
  const results: Result[] = [];
  try {
    const stack = await startStack({ apps: [], env: { REDIS_URL: redisUrl } });
    try {
      for (const n of cfg.counts) for (const via of cfg.via) results.push(await runOne(cfg, stack, redisUrl, n, via));
    } finally {
      await stack.stop();
    }
  } finally {
    own?.stop();
  }
  process.stdout.write(
    "\n" +
      table(
        [
          "via",
          "followers",
          "held",
          "failed",
          "p50 ms",
          "p99 ms",
          "max ms",
          "recv/written×per-job",
          "RSS/follower KiB",
          "heap/follower KiB",
          "gw RSS MiB",
          "gw CPU % load",
          "gw CPU % idle",
          "Redis µs/event",
          "Redis CPU % idle",
        ],
        results.map((r) => [
          r.via,
          r.followers,
          r.held,
          r.failed,
          r.latency_ms.p50,
          r.latency_ms.p99,
          r.latency_ms.max,
          round(r.events_received / (r.events_written * cfg.perJob), 3),
          r.rss_per_follower_kib,
          r.heap_per_follower_kib,
          r.rss_after_mib,
          r.load_gateway_cpu_pct,
          r.idle_gateway_cpu_pct,
          r.redis_cpu_us_per_event,
          r.idle_redis_cpu_pct,
        ]),
      ) +
      `\n(events at ${cfg.rate}/s over ${cfg.activeJobs < Number.MAX_SAFE_INTEGER ? `the first ${cfg.activeJobs} jobs (the other followers idle)` : "all jobs"} for ${cfg.seconds} s; ${cfg.perJob} follower(s) per job; ` +
      `idle window ${cfg.idleSeconds} s after ${cfg.settleSeconds} s settling, heartbeat ${cfg.heartbeatMs} ms; CPU % is of one core)\n` +
      ratios(results),
  );
  writeResult(cfg.out, { config: cfg, results }, REPO_ROOT);
}

runBench(main);
