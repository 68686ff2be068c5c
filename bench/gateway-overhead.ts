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
import { createQueueSet, createRedis, RedisKeys, type Redis } from "@switchyard/queue";
import { startStack, type Stack } from "@switchyard/testkit";
import { appComplaints } from "./lib/app-output";
import { runBench, writeResult } from "./lib/bench-env";
import { admissionPhase } from "./lib/overhead-admission";
import { readConfig, REPO_ROOT, writeCatalog } from "./lib/overhead-config";
import { latencyPhase, ledgerCheck } from "./lib/overhead-latency";
import { report } from "./lib/overhead-report";
import { round } from "./lib/stats";

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
