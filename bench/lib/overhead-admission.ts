/**
 * Phase (a) of `bench/gateway-overhead.ts`: job submissions per second through `POST /v1/jobs`
 * (gateway only, no worker) vs raw BullMQ `Queue.add` on the same Redis at the same concurrency,
 * with the CPU, Redis time, round trips and Redis memory per job of each, and the issue 13 goals
 * as ratios of the two.
 */
import { newId, queueCatalog, type QueueInput } from "@switchyard/contracts";
import { RedisKeys, type Redis } from "@switchyard/queue";
import { cleanupPrefix, type Stack } from "@switchyard/testkit";
import { Queue } from "bullmq";
import { Pool } from "undici";
import { runClosedLoop, type LoopResult } from "./closed-loop";
import { redisCpuMs } from "./cpu-readers";
import { startHttpFloor } from "./http-floor";
import { jobBody, type Config } from "./overhead-config";
import { processTreeCpuMs, selfCpuMs } from "./proc-cpu";
import { clientCommandUsec, commandStats, sampleRoundTrips, usedMemory, type RoundTripSample } from "./redis-cost";
import { round, summarize } from "./stats";

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
export async function admissionPhase(stack: Stack, cfg: Config, redis: Redis) {
  const gatewayPid = stack.apps.get("gateway")?.child.pid;
  const headers = { authorization: `Bearer ${stack.key}`, "content-type": "application/json" };
  const statuses: Record<string, number> = {};
  const poster = (pool: Pool) => async (i: number) => {
    const res = await pool.request({ method: "POST", path: "/v1/jobs", headers, body: JSON.stringify(jobBody(`admission bench ${i}`, cfg.maxTokens)) });
    const text = await res.body.text();
    statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
    if (res.statusCode !== 202) throw new Error(`POST /v1/jobs -> ${res.statusCode}: ${text.slice(0, 200)}`);
  };
  const newPool = (url: string) => new Pool(url, { connections: cfg.concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  const pool = newPool(stack.url);
  const submit = poster(pool);
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
  // The floor: the same requests answered by a bare node:http server, nothing admitted.
  const floorServer = await startHttpFloor();
  const floorPool = newPool(floorServer.url);
  let floor;
  try {
    const post = poster(floorPool);
    await loop(cfg.warmup, post);
    const { redisUsecPerOp, ...run } = await measured(redis, floorServer.pid, () => loop(cfg.n, post));
    void redisUsecPerOp; // nothing of it reaches Redis
    floor = run;
  } finally {
    await floorPool.close();
    await floorServer.stop();
  }
  const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : round(a / b, 3));
  return {
    n: cfg.n,
    concurrency: cfg.concurrency,
    warmup: cfg.warmup,
    gateway,
    bullmq,
    /** A bare node:http server answering the same requests (no Redis, no admission): the floor. */
    bare_http: floor,
    ratio_gateway_to_bullmq: round(gateway.per_second / bullmq.per_second, 3),
    // The issue 13 goals, each against its baseline measured above in this run.
    goals: {
      P1_throughput: { value: ratio(gateway.per_second, bullmq.per_second), goal: ">= 0.5", bare_http_ceiling: ratio(floor.per_second, bullmq.per_second) },
      P1b_cpu_per_job: {
        value: ratio(gateway.cpu_ms_per_op.gateway, bullmq.cpu_ms_per_op.bench_client),
        goal: "<= 2",
        gateway_ms: gateway.cpu_ms_per_op.gateway,
        raw_client_ms: bullmq.cpu_ms_per_op.bench_client,
        bare_http_ms: floor.cpu_ms_per_op.gateway,
        bare_http_floor: ratio(floor.cpu_ms_per_op.gateway, bullmq.cpu_ms_per_op.bench_client),
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

export type AdmissionResult = Awaited<ReturnType<typeof admissionPhase>>;
