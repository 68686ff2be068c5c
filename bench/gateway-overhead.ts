/**
 * What the gateway costs, measured on this machine against real Redis and Postgres:
 *
 * (a) admission: job submissions per second through `POST /v1/jobs` (gateway only, no worker,
 *     so nothing but admission is measured) vs raw BullMQ `Queue.add` of an equivalent payload
 *     on the same Redis, at the same concurrency;
 * (b) latency: POST → `done` event through gateway + queue + router-worker vs calling the
 *     simulated provider directly with the same behaviour.
 *
 * Prints tables and writes `bench/out/gateway-overhead.json`. Options (env):
 *   BENCH_N=3000 BENCH_CONCURRENCY=64 BENCH_WARMUP=300            admission phase
 *   BENCH_M=300 BENCH_E2E_CONCURRENCY=8 BENCH_E2E_WARMUP=30        latency phase
 *   BENCH_TTFT_MS=20 BENCH_TPS=2000 BENCH_MAX_TOKENS=16            simulated model behaviour
 *   BENCH_PHASE_SECONDS=60 (time limit of each measured run)  BENCH_TIMEOUT_SECONDS=600 (whole run)
 *   BENCH_PHASES=a,b   BENCH_OUT=bench/out/gateway-overhead.json
 *   BENCH_ADMIT_PATH=bullmq (default) | fair: where (a)'s admitted jobs go. With fair scheduling on
 *     (the default) the gateway's fair gate adds a job straight to BullMQ while the workers have
 *     room and queues it in its deployment's fair list otherwise; with no worker running, (a)
 *     would measure only the fair-list path. `bullmq` sets FAIR_DISPATCH_AHEAD so high that every
 *     job takes the direct path (gate script, then the BullMQ add), as the raw baseline's jobs
 *     land in BullMQ; `fair` measures the backlog path (admission, then the fair-list push).
 * Needs Redis (REDIS_URL / TEST_REDIS_URL, default 127.0.0.1:6379) and Postgres (TEST_DATABASE_URL,
 * default postgres://postgres@127.0.0.1:5432/postgres), as the integration tests do.
 */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { newId, queueCatalog, type QueueInput } from "@switchyard/contracts";
import { createSimulatedProvider } from "@switchyard/providers";
import { createQueueSet, createRedis, RedisKeys, type Redis } from "@switchyard/queue";
import { cleanupPrefix, startStack, type Stack } from "@switchyard/testkit";
import { Queue } from "bullmq";
import { Pool } from "undici";
import { envInt, runBench, writeOneModelCatalog, writeResult } from "./lib/bench-env";
import { runClosedLoop, type LoopResult } from "./lib/closed-loop";
import { processTreeCpuMs, selfCpuMs } from "./lib/proc-cpu";
import { sseUntilTerminal } from "./lib/sse-until-terminal";
import { clientCommandUsec, commandStats, sampleRoundTrips, usedMemory, type RoundTripSample } from "./lib/redis-cost";
import { round, summarize, table } from "./lib/stats";

const REPO_ROOT = path.resolve(__dirname, "..");
const MODEL_ID = "bench-sim";

function readConfig() {
  const phases = (process.env.BENCH_PHASES ?? "a,b").split(",").map((s) => s.trim());
  return {
    n: envInt("BENCH_N", 3000),
    concurrency: envInt("BENCH_CONCURRENCY", 64),
    warmup: envInt("BENCH_WARMUP", 300, 0),
    m: envInt("BENCH_M", 300),
    e2eConcurrency: envInt("BENCH_E2E_CONCURRENCY", 8),
    e2eWarmup: envInt("BENCH_E2E_WARMUP", 30, 0),
    behaviour: { ttft_ms: envInt("BENCH_TTFT_MS", 20, 0), tokens_per_second: envInt("BENCH_TPS", 2000), failure_rate: 0 },
    maxTokens: envInt("BENCH_MAX_TOKENS", 16),
    phaseMs: envInt("BENCH_PHASE_SECONDS", 60) * 1000,
    timeoutMs: envInt("BENCH_TIMEOUT_SECONDS", 600) * 1000,
    runA: phases.includes("a"),
    runB: phases.includes("b"),
    admitPath: admitPath(process.env.BENCH_ADMIT_PATH ?? "bullmq"),
    out: path.resolve(REPO_ROOT, process.env.BENCH_OUT ?? "bench/out/gateway-overhead.json"),
  };
}
type Config = ReturnType<typeof readConfig>;

function admitPath(v: string): "bullmq" | "fair" {
  if (v !== "bullmq" && v !== "fair") throw new Error(`BENCH_ADMIT_PATH must be bullmq or fair, got ${v}`);
  return v;
}

/** A catalog with one simulated model whose pace the bench chooses (the direct call uses the same). */
function writeCatalog(cfg: Config): { file: string; dir: string } {
  return writeOneModelCatalog(
    {
      id: MODEL_ID,
      provider: "simulated",
      upstream_model: MODEL_ID,
      max_output_tokens: cfg.maxTokens,
      pricing: { input: 0.3, output: 2.5, cached_input: 0 },
      simulated: cfg.behaviour,
    },
    "overhead",
  );
}

const jobBody = (content: string, maxTokens: number) => ({ model: MODEL_ID, messages: [{ role: "user" as const, content }], max_tokens: maxTokens });

/** Redis server CPU (user + sys) so far, ms. The server may be shared, so this is indicative. */
async function redisCpuMs(redis: Redis): Promise<number | null> {
  const info = await redis.info("cpu").catch(() => "");
  const user = /used_cpu_user:([\d.]+)/.exec(info)?.[1];
  const sys = /used_cpu_sys:([\d.]+)/.exec(info)?.[1];
  return user && sys ? (Number(user) + Number(sys)) * 1000 : null;
}

/**
 * Measure one closed-loop run with the CPU each side spent on it, the Redis commands' own time
 * (`INFO commandstats`) and the memory the run left in Redis (its jobs wait: nothing consumes them).
 */
async function measured(redis: Redis, gatewayPid: number | undefined, run: () => Promise<LoopResult>) {
  const [stats0, mem0] = [await commandStats(redis), await usedMemory(redis)];
  const before = { gw: processTreeCpuMs(gatewayPid), redis: await redisCpuMs(redis), self: selfCpuMs() };
  const r = await run();
  const after = { gw: processTreeCpuMs(gatewayPid), redis: await redisCpuMs(redis), self: selfCpuMs() };
  const [stats1, mem1] = [await commandStats(redis), await usedMemory(redis)];
  const per = (a: number | null, b: number | null) => (a === null || b === null || r.ok === 0 ? null : round((b - a) / r.ok, 3));
  return {
    ok: r.ok,
    failed: r.failed,
    errors: r.errors,
    timed_out: r.timedOut,
    elapsed_ms: round(r.elapsedMs),
    per_second: round(r.ok / (r.elapsedMs / 1000), 1),
    latency_ms: summarize(r.latencies),
    cpu_ms_per_op: {
      gateway: gatewayPid === undefined ? null : per(before.gw, after.gw),
      redis_server: per(before.redis, after.redis),
      bench_client: per(before.self, after.self),
    },
    redis_bytes_per_op: r.ok === 0 ? null : round((mem1 - mem0) / r.ok, 0),
    /** Call with the run's top-level command names (from a round-trip sample) to get Redis µs per op. */
    redisUsecPerOp: (topLevel: Iterable<string>) => (r.ok === 0 ? null : round(clientCommandUsec(stats0, stats1, topLevel) / r.ok, 1)),
  };
}

/** (a) Admission throughput: gateway over HTTP vs raw `Queue.add`, same Redis, same concurrency. */
async function admissionPhase(stack: Stack, cfg: Config, redis: Redis) {
  const gatewayPid = stack.apps.get("gateway")?.child.pid;
  const pool = new Pool(stack.url, { connections: cfg.concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  const headers = { authorization: `Bearer ${stack.key}`, "content-type": "application/json" };
  const statuses: Record<string, number> = {};
  const submit = async (i: number): Promise<void> => {
    const res = await pool.request({ method: "POST", path: "/v1/jobs", headers, body: JSON.stringify(jobBody(`admission bench ${i}`, cfg.maxTokens)) });
    const text = await res.body.text();
    statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
    if (res.statusCode !== 202) throw new Error(`POST /v1/jobs -> ${res.statusCode}: ${text.slice(0, 200)}`);
  };
  const loop = (total: number, op: (i: number) => Promise<void>) => runClosedLoop({ total, concurrency: cfg.concurrency, timeLimitMs: cfg.phaseMs, op });

  let gateway;
  let gatewayTrips: RoundTripSample;
  try {
    await loop(cfg.warmup, submit);
    for (const k of Object.keys(statuses)) delete statuses[k];
    const { redisUsecPerOp, ...run } = await measured(redis, gatewayPid, () => loop(cfg.n, submit));
    gatewayTrips = await sampleRoundTrips(redis, 50, (i) => submit(10_000_000 + i), new RedisKeys(stack.prefix).bullPrefix);
    gateway = { ...run, redis_usec_per_op: redisUsecPerOp(Object.keys(gatewayTrips.by_command)), round_trips: gatewayTrips, statuses: { ...statuses } };
  } finally {
    await pool.close();
  }

  // Raw BullMQ on the same Redis, the measuring stick P1 is defined against (so BullMQ's own
  // Queue, not the validating QueueSet): the same queue name, payload shape (typed by the catalog)
  // and job options the gateway's enqueue uses, under a prefix of its own so nothing consumes it.
  const rawKeys = new RedisKeys(`${stack.prefix}-raw`);
  const q = new Queue("ai-route", { connection: redis, prefix: rawKeys.bullPrefix });
  const retry = queueCatalog["ai-route"].retry;
  const add = async (i: number): Promise<void> => {
    const id = newId("job");
    const payload: QueueInput<"ai-route"> = {
      job_id: id,
      tenant_id: "ten_demo",
      deployment_id: "dep_bench",
      api_key_id: "key_bench",
      request: { ...jobBody(`admission bench ${i}`, cfg.maxTokens), priority: "normal" },
      created_at: new Date().toISOString(),
      trace: {},
    };
    await q.add("ai-route", payload, {
      jobId: id,
      priority: 2,
      attempts: retry.attempts,
      backoff: retry.backoff,
      removeOnComplete: { age: 3600, count: 10_000 },
      removeOnFail: { age: 24 * 3600, count: 10_000 },
    });
  };
  let bullmq;
  try {
    await loop(cfg.warmup, add);
    const { redisUsecPerOp, ...run } = await measured(redis, undefined, () => loop(cfg.n, add));
    const trips = await sampleRoundTrips(redis, 50, (i) => add(10_000_000 + i), rawKeys.bullPrefix);
    bullmq = { ...run, redis_usec_per_op: redisUsecPerOp(Object.keys(trips.by_command)), round_trips: trips };
  } finally {
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
    await cleanupPrefix(rawKeys.prefix, stack.env.REDIS_URL);
  }
  const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : round(a / b, 3));
  return {
    n: cfg.n,
    concurrency: cfg.concurrency,
    warmup: cfg.warmup,
    gateway,
    bullmq,
    ratio_gateway_to_bullmq: round(gateway.per_second / bullmq.per_second, 3),
    // The issue 13 goals, each against its baseline measured above in this run.
    goals: {
      P1_throughput: { value: ratio(gateway.per_second, bullmq.per_second), goal: ">= 0.5" },
      P1b_cpu_per_job: {
        value: ratio(gateway.cpu_ms_per_op.gateway, bullmq.cpu_ms_per_op.bench_client),
        goal: "<= 2",
        gateway_ms: gateway.cpu_ms_per_op.gateway,
        raw_client_ms: bullmq.cpu_ms_per_op.bench_client,
      },
      P1c_round_trips: { value: gateway.round_trips.commands_per_op, goal: "<= 3", raw: bullmq.round_trips.commands_per_op },
      P1c_redis_usec: {
        value: ratio(gateway.redis_usec_per_op, bullmq.redis_usec_per_op),
        goal: "<= 2",
        gateway_usec: gateway.redis_usec_per_op,
        raw_usec: bullmq.redis_usec_per_op,
      },
      P7_bytes_per_waiting_job: {
        value: ratio(gateway.redis_bytes_per_op, bullmq.redis_bytes_per_op),
        goal: "<= 1.5 and <= 2048 bytes",
        gateway_bytes: gateway.redis_bytes_per_op,
        raw_bytes: bullmq.redis_bytes_per_op,
      },
    },
  };
}

/** (b) Latency: POST → `done` through the whole system vs the simulated provider called directly. */
async function latencyPhase(stack: Stack, cfg: Config) {
  const sim = createSimulatedProvider(cfg.behaviour);
  const messages = (i: number) => [{ role: "user" as const, content: `latency bench ${i}` }];
  const directTotal: number[] = [];
  const directTtft: number[] = [];
  const direct = async (i: number, record: boolean): Promise<void> => {
    const t0 = performance.now();
    let first: number | null = null;
    let deltas = 0;
    for await (const c of sim.streamChat({ model: MODEL_ID, messages: messages(i), maxTokens: cfg.maxTokens })) {
      if (c.type === "delta") {
        deltas++;
        first ??= performance.now() - t0;
      }
    }
    if (deltas !== cfg.maxTokens) throw new Error(`direct call streamed ${deltas} deltas, expected ${cfg.maxTokens}`);
    if (record) {
      directTotal.push(performance.now() - t0);
      directTtft.push(first ?? NaN);
    }
  };

  const pool = new Pool(stack.url, { connections: cfg.e2eConcurrency * 2, pipelining: 1, keepAliveTimeout: 60_000 });
  const auth = { authorization: `Bearer ${stack.key}` };
  const e2eTotal: number[] = [];
  const e2eTtft: number[] = [];
  const e2eSubmit: number[] = [];
  const milestones = { running: [] as number[], firstDeltaWritten: [] as number[], terminalWritten: [] as number[] };
  const e2e = async (i: number, record: boolean): Promise<void> => {
    const t0 = performance.now();
    const t0Wall = Date.now();
    const res = await pool.request({
      method: "POST",
      path: "/v1/jobs",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify(jobBody(`latency bench ${i}`, cfg.maxTokens)),
    });
    const created = (await res.body.json()) as { id?: string };
    const submitted = performance.now() - t0;
    if (res.statusCode !== 202 || !created.id) throw new Error(`POST /v1/jobs -> ${res.statusCode}: ${JSON.stringify(created).slice(0, 200)}`);
    const s = await sseUntilTerminal(pool, `/v1/jobs/${created.id}/events`, auth, { perf: t0, wall: t0Wall }, 30_000);
    if (s.terminal !== "done") throw new Error(`job ${created.id}: events ended with ${s.terminal ?? "no terminal event"} (HTTP ${s.status})`);
    if (s.deltas !== cfg.maxTokens) throw new Error(`job ${created.id}: ${s.deltas} deltas, expected ${cfg.maxTokens}`);
    if (record) {
      e2eTotal.push(s.terminalMs!);
      e2eTtft.push(s.firstDeltaMs ?? NaN);
      e2eSubmit.push(submitted);
      milestones.running.push(s.written.running ?? NaN);
      milestones.firstDeltaWritten.push(s.written.firstDelta ?? NaN);
      milestones.terminalWritten.push(s.written.terminal ?? NaN);
    }
  };
  const loop = (total: number, op: (i: number) => Promise<void>) => runClosedLoop({ total, concurrency: cfg.e2eConcurrency, timeLimitMs: cfg.phaseMs, op });

  try {
    await loop(cfg.e2eWarmup, (i) => direct(i, false));
    await loop(cfg.e2eWarmup, (i) => e2e(1_000_000 + i, false));
    const d = await loop(cfg.m, (i) => direct(i, true));
    const g = await loop(cfg.m, (i) => e2e(i, true));
    const dt = summarize(directTotal);
    const gt = summarize(e2eTotal);
    return {
      m: cfg.m,
      concurrency: cfg.e2eConcurrency,
      warmup: cfg.e2eWarmup,
      behaviour: cfg.behaviour,
      max_tokens: cfg.maxTokens,
      direct: { ok: d.ok, failed: d.failed, errors: d.errors, timed_out: d.timedOut, total_ms: dt, ttft_ms: summarize(directTtft) },
      gateway: {
        ok: g.ok,
        failed: g.failed,
        errors: g.errors,
        timed_out: g.timedOut,
        total_ms: gt,
        ttft_ms: summarize(e2eTtft),
        submit_ms: summarize(e2eSubmit),
        jobs_per_second: round(g.ok / (g.elapsedMs / 1000), 1),
      },
      // When the worker wrote each event (Redis Stream id time), ms after the POST was sent; 1 ms resolution.
      written_at_ms: {
        running: summarize(milestones.running),
        first_delta: summarize(milestones.firstDeltaWritten),
        terminal: summarize(milestones.terminalWritten),
      },
      added_ms: { p50: round(gt.p50 - dt.p50), p99: round(gt.p99 - dt.p99), mean: round(gt.mean - dt.mean) },
      ratio: { p50: round(gt.p50 / dt.p50, 3), p99: round(gt.p99 / dt.p99, 3) },
    };
  } finally {
    await pool.close();
  }
}

/** Waits (bounded) for the aggregator to write one usage row per finished job; returns the counts. */
async function ledgerCheck(stack: Stack, expected: number, waitMs = 15_000) {
  const deadline = Date.now() + waitMs;
  let usage: number;
  let jobs: number;
  for (;;) {
    usage = Number(
      (
        await stack.database.db
          .selectFrom("usage_events")
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirst()
      )?.n ?? 0,
    );
    jobs = Number(
      (
        await stack.database.db
          .selectFrom("jobs")
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirst()
      )?.n ?? 0,
    );
    if ((usage >= expected && jobs >= expected) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return { expected, usage_rows: usage, job_rows: jobs };
}

/** Lines the apps printed (they run at LOG_LEVEL=warn, so every line is a warning or worse). */
function appComplaints(stack: Stack): Record<string, { lines: number; first: string[] }> {
  const out: Record<string, { lines: number; first: string[] }> = {};
  for (const [label, app] of stack.apps) {
    const lines = app
      .output()
      .split("\n")
      .filter((l) => l.trim() !== "");
    out[label] = { lines: lines.length, first: lines.slice(0, 3).map((l) => l.slice(0, 300)) };
  }
  return out;
}

const met = (v: number | null, ok: (v: number) => boolean) => (v === null ? "-" : ok(v) ? "yes" : "NO");

function report(
  result: Record<string, unknown>,
  a: Awaited<ReturnType<typeof admissionPhase>> | null,
  b: Awaited<ReturnType<typeof latencyPhase>> | null,
): void {
  const lines: string[] = [];
  if (a) {
    lines.push(`\n(a) admission: N=${a.n}, concurrency=${a.concurrency}, warm-up ${a.warmup} each (gateway only, no worker)`);
    const row = (name: string, r: typeof a.bullmq) => [
      name,
      r.ok,
      r.failed,
      r.per_second,
      r.latency_ms.p50,
      r.latency_ms.p99,
      r.cpu_ms_per_op.gateway ?? "-",
      r.cpu_ms_per_op.redis_server ?? "-",
      r.cpu_ms_per_op.bench_client ?? "-",
    ];
    lines.push(
      table(
        ["path", "ok", "failed", "jobs/s", "p50 ms", "p99 ms", "gw cpu ms/job", "redis cpu ms/job", "client cpu ms/job"],
        [row("gateway POST /v1/jobs", a.gateway), row("raw BullMQ Queue.add", a.bullmq)],
      ),
    );
    lines.push(
      `gateway / raw BullMQ throughput: ${a.ratio_gateway_to_bullmq} (raw is ${round(1 / a.ratio_gateway_to_bullmq, 2)}x the gateway); statuses ${JSON.stringify(a.gateway.statuses)}`,
    );
    lines.push(
      `Redis per job: gateway ${a.gateway.round_trips.commands_per_op} round trips ${JSON.stringify(a.gateway.round_trips.by_command)}, ${a.gateway.redis_usec_per_op} µs, ${a.gateway.redis_bytes_per_op} bytes; raw ${a.bullmq.round_trips.commands_per_op} round trips, ${a.bullmq.redis_usec_per_op} µs, ${a.bullmq.redis_bytes_per_op} bytes`,
    );
    const g = a.goals;
    lines.push("\nissue 13 goals (each a ratio to its baseline measured in this run):");
    lines.push(
      table(
        ["goal", "measure", "value", "target", "met"],
        [
          [
            "P1",
            "POST /v1/jobs jobs/s ÷ raw Queue.add jobs/s",
            g.P1_throughput.value ?? "-",
            g.P1_throughput.goal,
            met(g.P1_throughput.value, (v) => v >= 0.5),
          ],
          [
            "P1b",
            `gateway CPU/job ÷ raw client CPU/add (${g.P1b_cpu_per_job.gateway_ms} / ${g.P1b_cpu_per_job.raw_client_ms} ms)`,
            g.P1b_cpu_per_job.value ?? "-",
            g.P1b_cpu_per_job.goal,
            met(g.P1b_cpu_per_job.value, (v) => v <= 2),
          ],
          [
            "P1c",
            `Redis round trips per job (raw: ${g.P1c_round_trips.raw})`,
            g.P1c_round_trips.value,
            g.P1c_round_trips.goal,
            met(g.P1c_round_trips.value, (v) => v <= 3),
          ],
          [
            "P1c",
            `Redis µs per job ÷ raw (${g.P1c_redis_usec.gateway_usec} / ${g.P1c_redis_usec.raw_usec} µs)`,
            g.P1c_redis_usec.value ?? "-",
            g.P1c_redis_usec.goal,
            met(g.P1c_redis_usec.value, (v) => v <= 2),
          ],
          [
            "P7",
            `Redis bytes per waiting job ÷ raw (${g.P7_bytes_per_waiting_job.gateway_bytes} / ${g.P7_bytes_per_waiting_job.raw_bytes} B)`,
            g.P7_bytes_per_waiting_job.value ?? "-",
            g.P7_bytes_per_waiting_job.goal,
            met(g.P7_bytes_per_waiting_job.value, (v) => v <= 1.5 && (g.P7_bytes_per_waiting_job.gateway_bytes ?? Infinity) <= 2048),
          ],
        ],
      ),
    );
  }
  if (b) {
    lines.push(
      `\n(b) latency: M=${b.m}, concurrency=${b.concurrency}, simulated ttft ${b.behaviour.ttft_ms} ms, ${b.behaviour.tokens_per_second} tok/s, ${b.max_tokens} tokens`,
    );
    lines.push(
      table(
        ["measure", "p50 ms", "p99 ms", "mean ms", "max ms"],
        [
          ["direct streamChat: total", b.direct.total_ms.p50, b.direct.total_ms.p99, b.direct.total_ms.mean, b.direct.total_ms.max],
          ["direct streamChat: first token", b.direct.ttft_ms.p50, b.direct.ttft_ms.p99, b.direct.ttft_ms.mean, b.direct.ttft_ms.max],
          ["gateway: POST -> done", b.gateway.total_ms.p50, b.gateway.total_ms.p99, b.gateway.total_ms.mean, b.gateway.total_ms.max],
          ["gateway: POST -> first delta", b.gateway.ttft_ms.p50, b.gateway.ttft_ms.p99, b.gateway.ttft_ms.mean, b.gateway.ttft_ms.max],
          ["gateway: POST -> 202", b.gateway.submit_ms.p50, b.gateway.submit_ms.p99, b.gateway.submit_ms.mean, b.gateway.submit_ms.max],
          ["added (gateway - direct), total", b.added_ms.p50, b.added_ms.p99, b.added_ms.mean, "-"],
        ],
      ),
    );
    lines.push("where it goes (ms after POST; worker write times from Redis Stream ids, 1 ms resolution):");
    lines.push(
      table(
        ["milestone", "p50 ms", "p99 ms"],
        [
          ["202 received by client", b.gateway.submit_ms.p50, b.gateway.submit_ms.p99],
          ["worker wrote status running", b.written_at_ms.running.p50, b.written_at_ms.running.p99],
          ["worker wrote first delta", b.written_at_ms.first_delta.p50, b.written_at_ms.first_delta.p99],
          ["client got first delta", b.gateway.ttft_ms.p50, b.gateway.ttft_ms.p99],
          ["worker wrote done", b.written_at_ms.terminal.p50, b.written_at_ms.terminal.p99],
          ["client got done", b.gateway.total_ms.p50, b.gateway.total_ms.p99],
        ],
      ),
    );
    lines.push(
      `ratio gateway/direct: p50 ${b.ratio.p50}x, p99 ${b.ratio.p99}x; failures direct ${b.direct.failed}, gateway ${b.gateway.failed}${b.gateway.errors.length ? ` (${b.gateway.errors[0]})` : ""}`,
    );
  }
  if (result.ledger) lines.push(`ledger after phase (b): ${JSON.stringify(result.ledger)}`);
  const complaints = result.app_output as ReturnType<typeof appComplaints> | undefined;
  for (const [label, c] of Object.entries(complaints ?? {}))
    if (c.lines > 0) lines.push(`${label} printed ${c.lines} warning/error line(s), first: ${c.first[0]}`);
  process.stdout.write(lines.join("\n") + "\n");
}

async function main(): Promise<void> {
  const cfg = readConfig();
  const catalog = writeCatalog(cfg);
  const started = new Date();
  let stack: Stack | null = null;
  let redis: Redis | null = null;
  let stopping: Promise<void> | null = null;
  const cleanup = () =>
    (stopping ??= (async () => {
      redis?.disconnect();
      await stack?.stop().catch((err: Error) => process.stderr.write(`stack.stop failed: ${err.message}\n`));
      rmSync(catalog.dir, { recursive: true, force: true });
    })());
  const bail = (why: string, code: number) => {
    process.stderr.write(`\n${why}: stopping the stack\n`);
    void cleanup().finally(() => process.exit(code));
  };
  process.once("SIGINT", () => bail("interrupted", 130));
  process.once("SIGTERM", () => bail("terminated", 143));
  setTimeout(() => bail(`bench exceeded BENCH_TIMEOUT_SECONDS (${cfg.timeoutMs / 1000} s)`, 1), cfg.timeoutMs).unref();

  try {
    process.stdout.write(
      `starting gateway (fresh database and Redis prefix) on ${os.cpus().length} CPU(s), load average ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")}\n`,
    );
    process.stdout.write(`admitted jobs go to ${cfg.admitPath === "bullmq" ? "BullMQ (the fair gate's direct path)" : "the fair lists (the backlog path)"}\n`);
    stack = await startStack({
      apps: ["gateway"],
      env: { MODEL_CATALOG_PATH: catalog.file, ...(cfg.admitPath === "bullmq" ? { FAIR_DISPATCH_AHEAD: String(1_000_000_000) } : {}) },
    });
    redis = createRedis(stack.env.REDIS_URL!);
    const a = cfg.runA ? await admissionPhase(stack, cfg, redis) : null;
    let b = null;
    let ledger = null;
    if (cfg.runB) {
      // Admission left thousands of jobs waiting (in BullMQ or the fair lists): drop them so the worker starts on an empty queue.
      const stackKeys = new RedisKeys(stack.prefix);
      const stackQueues = createQueueSet({ connection: redis, keys: stackKeys });
      await stackQueues.queue("ai-route").drain(true);
      await stackQueues.close();
      for (const key of await redis.keys(`${stackKeys.fairPrefix()}*`)) await redis.del(key);
      process.stdout.write("starting router-worker and usage-aggregator\n");
      await Promise.all([stack.spawn("router-worker"), stack.spawn("usage-aggregator")]);
      b = await latencyPhase(stack, cfg);
      ledger = await ledgerCheck(stack, cfg.e2eWarmup + b.gateway.ok + b.gateway.failed);
    }
    const result = {
      generated_at: started.toISOString(),
      git_commit: (() => {
        try {
          return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
        } catch {
          return null;
        }
      })(),
      machine: {
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        cpus: os.cpus().length,
        cpu_model: os.cpus()[0]?.model ?? null,
        loadavg_at_start: os.loadavg().map((x) => round(x)),
      },
      stack: { redis_prefix: stack.prefix, database: stack.database.name },
      note: "Bench client, gateway, workers, Redis and Postgres share this machine's CPUs; figures are loopback-only.",
      admission: a,
      latency: b,
      ledger,
      app_output: appComplaints(stack),
    };
    report(result, a, b);
    writeResult(cfg.out, result, REPO_ROOT);
  } finally {
    await cleanup();
  }
}

runBench(main);
