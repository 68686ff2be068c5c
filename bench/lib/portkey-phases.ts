/**
 * The measured phases of `bench/portkey-compare.ts`: a closed loop and an open loop against one
 * target, each after a warm-up on the same pool, with what the upstream saw and where CPU went
 * meanwhile ({@link observed}); and the order the targets run in each round.
 */
import os from "node:os";
import type { Redis } from "@switchyard/queue";
import { runClosedLoop } from "./closed-loop";
import { cpuMs, machineTicks, postgresCpuMs, redisCpuMs } from "./cpu-readers";
import { runOpenLoop } from "./open-loop";
import type { Config, TargetName } from "./portkey-config";
import type { startMock } from "./portkey-mock-upstream";
import { closePool, newPool, requester, type Target } from "./portkey-requests";
import { selfCpuMs } from "./proc-cpu";
import { round, summarize } from "./stats";

/** What the phases share: the mock, and every process this bench started (for CPU accounting). */
export interface Ctx {
  cfg: Config;
  mock: Awaited<ReturnType<typeof startMock>>;
  /** The mock, Portkey and Switchyard's apps. */
  benchPids: number[];
  /** Switchyard's database (its Postgres backends' CPU is Switchyard's) and a Redis connection for INFO. */
  database: string | null;
  redis: Redis | null;
}

/**
 * Runs `fn`, and reports what the upstream saw and where CPU went meanwhile: the target's own
 * processes, the mock, this client, and the machine as a whole. `outside_cpus` is the CPU (in
 * CPUs, averaged) spent by processes this bench did not start (Switchyard's Postgres backends
 * count as started): the shared Redis server and whatever else runs on the machine; a large
 * figure there means the run was contended.
 */
async function observed<T extends { ok: number }>(t: Target, ctx: Ctx, fn: () => Promise<T>) {
  const sy = t.name === "switchyard";
  const snap = async () => ({
    up: await ctx.mock.stats(),
    cpu: cpuMs(t.pids),
    pg: sy && ctx.database ? postgresCpuMs(ctx.database) : null,
    redis: sy ? await redisCpuMs(ctx.redis) : null,
    mockCpu: cpuMs([ctx.mock.child.child.pid!]),
    self: selfCpuMs(),
    bench: cpuMs(ctx.benchPids),
    machine: machineTicks(),
    at: performance.now(),
  });
  const before = await snap();
  const r = await fn();
  const after = await snap();
  const per = (a: number | null, b: number | null) => (a === null || b === null || r.ok === 0 ? null : round((b - a) / r.ok, 3));
  const wallMs = after.at - before.at;
  const ncpu = os.cpus().length;
  const busyCpus =
    before.machine && after.machine ? ((after.machine.busy - before.machine.busy) / Math.max(1, after.machine.total - before.machine.total)) * ncpu : null;
  // Switchyard's Postgres backends are this bench's too (Redis is a shared server: not subtracted).
  const pgMs = before.pg === null || after.pg === null ? 0 : after.pg - before.pg;
  const benchCpus = before.bench === null || after.bench === null ? null : (after.bench - before.bench + after.self - before.self + pgMs) / wallMs;
  return {
    r,
    upstream: {
      calls: after.up.chat - before.up.chat,
      stream: after.up.stream - before.up.stream,
      non_stream: after.up.non_stream - before.up.non_stream,
      rejected: after.up.rejected - before.up.rejected,
    },
    cpu_ms_per_ok: {
      /** Portkey's process, or Switchyard's three apps. */
      target: t.name === "direct" ? null : per(before.cpu, after.cpu),
      /** Switchyard's Postgres backends. */
      postgres: per(before.pg, after.pg),
      /** The Redis server, shared with anything else that uses it. */
      redis_shared: per(before.redis, after.redis),
      mock: per(before.mockCpu, after.mockCpu),
      client: per(before.self, after.self),
    },
    machine: {
      cpus: ncpu,
      busy_cpus: busyCpus === null ? null : round(busyCpus),
      bench_cpus: benchCpus === null ? null : round(benchCpus),
      outside_cpus: busyCpus === null || benchCpus === null ? null : round(busyCpus - benchCpus),
    },
  };
}

export async function closedPhase(t: Target, ctx: Ctx) {
  const cfg = ctx.cfg;
  const pool = newPool(t, cfg.connections, cfg);
  const statuses: Record<string, number> = {};
  const op = requester(t, pool, statuses);
  try {
    const w = await runClosedLoop({ total: cfg.warmupRequests, concurrency: cfg.connections, timeLimitMs: cfg.closedMs, op: (i) => op(1_000_000 + i) });
    const warmupStatuses = { ...statuses };
    for (const k of Object.keys(statuses)) delete statuses[k];
    const o = await observed(t, ctx, () => runClosedLoop({ total: cfg.closedMax, concurrency: cfg.connections, timeLimitMs: cfg.closedMs, op }));
    return {
      target: t.name,
      ok: o.r.ok,
      errors: o.r.failed,
      first_errors: o.r.errors,
      statuses: { ...statuses },
      timed_out: o.r.timedOut,
      elapsed_ms: round(o.r.elapsedMs),
      req_per_s: round(o.r.ok / (o.r.elapsedMs / 1000), 1),
      latency_ms: summarize(o.r.latencies),
      latencies: o.r.latencies,
      upstream: o.upstream,
      cpu_ms_per_ok: o.cpu_ms_per_ok,
      machine: o.machine,
      warmup: { ok: w.ok, errors: w.failed, first_errors: w.errors, statuses: warmupStatuses },
    };
  } finally {
    await closePool(pool);
  }
}

export async function openPhase(t: Target, ctx: Ctx) {
  const cfg = ctx.cfg;
  const pool = newPool(t, cfg.openMaxInFlight, cfg);
  const statuses: Record<string, number> = {};
  const op = requester(t, pool, statuses);
  const run = (ms: number, offset: number) =>
    runOpenLoop({
      ratePerSecond: cfg.openRate,
      durationMs: ms,
      maxInFlight: cfg.openMaxInFlight,
      drainTimeoutMs: cfg.requestTimeoutMs,
      op: (i) => op(offset + i),
    });
  try {
    const w = cfg.openWarmupMs > 0 ? await run(cfg.openWarmupMs, 2_000_000) : null;
    const warmupStatuses = { ...statuses };
    for (const k of Object.keys(statuses)) delete statuses[k];
    const o = await observed(t, ctx, () => run(cfg.openMs, 0));
    return {
      target: t.name,
      scheduled: o.r.scheduled,
      sent: o.r.sent,
      ok: o.r.ok,
      errors: o.r.failed,
      dropped: o.r.dropped,
      late: o.r.late,
      max_send_lag_ms: round(o.r.maxSendLagMs),
      unfinished: o.r.unfinished,
      first_errors: o.r.errors,
      statuses: { ...statuses },
      achieved_rate: round(o.r.achievedRate, 1),
      latency_ms: summarize(o.r.latencies),
      service_latency_ms: summarize(o.r.serviceLatencies),
      latencies: o.r.latencies,
      upstream: o.upstream,
      cpu_ms_per_ok: o.cpu_ms_per_ok,
      machine: o.machine,
      warmup: w ? { ok: w.ok, errors: w.failed, dropped: w.dropped, first_errors: w.errors, statuses: warmupStatuses } : null,
    };
  } finally {
    await closePool(pool);
  }
}

export type ClosedResult = Awaited<ReturnType<typeof closedPhase>>;
export type OpenResult = Awaited<ReturnType<typeof openPhase>>;

/** Direct first (the baseline), then the two gateways, the order of which alternates by round. */
export function orderFor(round: number, cfg: Config): TargetName[] {
  const gateways = cfg.targets.filter((t) => t !== "direct");
  return ["direct", ...(round % 2 === 0 ? gateways : [...gateways].reverse())];
}
