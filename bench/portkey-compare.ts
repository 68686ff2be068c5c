/**
 * Issue 13, P2: `POST /v1/chat/completions` (non-stream) through Switchyard (gateway → queue →
 * router-worker → upstream) vs the Portkey gateway (npm `@portkey-ai/gateway`, a dev dependency
 * of this bench package only), both in front of the same mock OpenAI upstream that answers after
 * a fixed delay. Goals: Switchyard ≥ 2× Portkey's req/s at 50 connections; Switchyard's added p50
 * at 200 req/s open loop ≤ Portkey's.
 *
 * Three targets, measured in the same run on the same mock:
 *   direct      the mock itself (the baseline: what the upstream delay alone gives);
 *   portkey     Portkey → mock (`x-portkey-provider: openai`, `x-portkey-custom-host: <mock>/v1`);
 *   switchyard  gateway `/v1/chat/completions` → BullMQ → router-worker → mock (the worker calls
 *               the upstream with `stream: true` and the gateway assembles the completion).
 * Two measurements per target, each after a warm-up on the same connection pool:
 *   closed loop  BENCH_CONNECTIONS callers, each sending its next request when the last ended,
 *                for BENCH_CLOSED_SECONDS or BENCH_CLOSED_MAX_REQUESTS: req/s, p50/p99, errors;
 *   open loop    BENCH_OPEN_RATE arrivals/s on a fixed schedule (bench/lib/open-loop.ts) for
 *                BENCH_OPEN_SECONDS: latency from each request's due time, and the added latency
 *                (target p50/p99 − direct p50/p99 of the same open loop).
 * Rounds (BENCH_ROUNDS) run direct first, then Portkey and Switchyard in alternating order; the
 * figures pool every round. Every answer must be a 200 whose body is a complete chat.completion
 * carrying the mock's text and usage; anything else is an error (the first one is printed). The
 * mock counts the upstream calls, so a target that answered without calling it would show.
 *
 * The mock runs in its own process (this file with `--mock-upstream`), so the load generator's
 * event loop cannot delay its timers. It is not testkit's fake-openai: that one keeps every
 * request in memory (10^5 of them here) and does per-request work (prompt token counts, tool and
 * logprobs checks, fault modes) a fixed-cost upstream should not.
 * Portkey runs as `npx @portkey-ai/gateway` would start it: `node <its bin> --port=<free port>
 * --headless` (headless drops the log-viewer UI and console spinner, not any request work).
 * Switchyard runs as the integration tests start it (startStack: fresh database and Redis prefix,
 * demo deployment with raised rate limits, apps at LOG_LEVEL=warn) from the working tree.
 *
 * Besides latency, each run reports CPU ms per successful request: the target's processes
 * (Portkey's one; Switchyard's gateway, router-worker and usage-aggregator) "+pg" Switchyard's
 * Postgres backends "+redis" the Redis server's (shared with anything else using it), and the
 * machine's busy CPUs and those used outside this bench ("busy/outside"): a contended machine
 * depresses throughput and inflates latency, while CPU per request moves much less.
 *
 * Options (env):
 *   BENCH_UPSTREAM_DELAY_MS=50      the mock's delay before answering (stream or not)
 *   BENCH_CONNECTIONS=50            closed-loop callers (= connections)
 *   BENCH_CLOSED_SECONDS=15 BENCH_CLOSED_MAX_REQUESTS=6000 BENCH_WARMUP_REQUESTS=300
 *   BENCH_OPEN_RATE=200 BENCH_OPEN_SECONDS=10 BENCH_OPEN_WARMUP_SECONDS=2
 *   BENCH_OPEN_MAX_INFLIGHT=400     arrivals beyond this many outstanding are dropped and counted
 *   BENCH_ROUNDS=2                  BENCH_TARGETS=direct,portkey,switchyard
 *   BENCH_ROUTER_CONCURRENCY=100    router-worker ROUTER_CONCURRENCY (its default, 32, would
 *                                   serialise 50 connections)
 *   BENCH_REQUEST_TIMEOUT_MS=30000  per request   BENCH_TIMEOUT_SECONDS=300 (whole run)
 *   BENCH_OUT=bench/out/portkey-compare.json
 * Run: `pnpm bench:portkey` (= `pnpm exec tsx bench/portkey-compare.ts`). Needs Redis and Postgres
 * as the integration tests do (REDIS_URL / TEST_REDIS_URL, TEST_DATABASE_URL); loopback only.
 * Client, mock, Portkey, Switchyard, Redis and Postgres share this machine's CPUs.
 */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRedis, type Redis } from "@switchyard/queue";
import { startStack, type Stack } from "@switchyard/testkit";
import { appComplaints, complaints } from "./lib/app-output";
import { runBench, writeOneModelCatalog, writeResult } from "./lib/bench-env";
import { aggregate, verdicts } from "./lib/portkey-aggregate";
import { children, startPortkey, stopChild } from "./lib/portkey-children";
import { API_KEY, MODEL_ID, PORTKEY_DIR, readConfig, REPO_ROOT, UPSTREAM_MODEL, type TargetName } from "./lib/portkey-config";
import { runMockUpstream, startMock } from "./lib/portkey-mock-upstream";
import { closedPhase, openPhase, orderFor, type ClosedResult, type Ctx, type OpenResult } from "./lib/portkey-phases";
import { report } from "./lib/portkey-report";
import type { Target } from "./lib/portkey-requests";
import { round } from "./lib/stats";

function writeCatalog(): { file: string; dir: string } {
  return writeOneModelCatalog(
    { id: MODEL_ID, provider: "openai", upstream_model: UPSTREAM_MODEL, max_output_tokens: 16_384, pricing: { input: 0.15, output: 0.6, cached_input: 0.075 } },
    "portkey",
  );
}

/** HEAD, and how many paths the working tree changes (the apps run from the working tree, not HEAD). */
function gitState(): { commit: string | null; changed_paths: number | null } {
  const git = (args: string[]) => {
    try {
      return execFileSync("git", args, { cwd: REPO_ROOT, encoding: "utf8" });
    } catch {
      return null;
    }
  };
  const status = git(["status", "--porcelain", "--untracked-files=no"]);
  return { commit: git(["rev-parse", "--short", "HEAD"])?.trim() ?? null, changed_paths: status === null ? null : status.split("\n").filter(Boolean).length };
}

async function main(): Promise<void> {
  const cfg = readConfig();
  const started = new Date();
  const loadAtStart = os.loadavg().map((x) => round(x));
  const catalog = writeCatalog();
  let stack: Stack | null = null;
  let redis: Redis | null = null;
  let stopping: Promise<void> | null = null;
  const cleanup = () =>
    (stopping ??= (async () => {
      redis?.disconnect();
      await Promise.all([...children].map((c) => stopChild(c)));
      if (stack) {
        const s = stack;
        await Promise.race([
          s.stop().catch((err: Error) => process.stderr.write(`stack.stop failed: ${err.message}\n`)),
          new Promise((r) => setTimeout(r, 20_000).unref()),
        ]);
      }
      rmSync(catalog.dir, { recursive: true, force: true });
    })());
  const bail = (why: string, code: number) => {
    process.stderr.write(`\n${why}: stopping every child process\n`);
    const hard = setTimeout(() => process.exit(code), 25_000);
    hard.unref();
    void cleanup().finally(() => process.exit(code));
  };
  process.once("SIGINT", () => bail("interrupted", 130));
  process.once("SIGTERM", () => bail("terminated", 143));
  setTimeout(() => bail(`bench exceeded BENCH_TIMEOUT_SECONDS (${cfg.timeoutMs / 1000} s)`, 1), cfg.timeoutMs).unref();
  // Last resort when the process exits on any path: nothing it started may outlive it.
  process.once("exit", () => {
    for (const c of children) c.child.kill("SIGKILL");
    for (const a of stack?.apps.values() ?? []) a.kill("SIGKILL");
  });

  try {
    process.stdout.write(
      `${os.cpus().length} CPU(s), load average ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")}; starting the mock upstream (${cfg.upstreamDelayMs} ms)\n`,
    );
    const mock = await startMock(__filename, cfg.upstreamDelayMs);
    const targets = new Map<TargetName, Target>();
    targets.set("direct", {
      name: "direct",
      origin: mock.url,
      headers: { authorization: `Bearer ${API_KEY}` },
      model: UPSTREAM_MODEL,
      pids: [mock.child.child.pid!],
    });
    let portkeyVersion: string | null = null;
    let portkey: Awaited<ReturnType<typeof startPortkey>> | null = null;
    if (cfg.targets.includes("portkey")) {
      portkey = await startPortkey();
      portkeyVersion = portkey.version;
      process.stdout.write(`portkey ${portkey.version} on ${portkey.url}\n`);
      targets.set("portkey", {
        name: "portkey",
        origin: portkey.url,
        headers: { authorization: `Bearer ${API_KEY}`, "x-portkey-provider": "openai", "x-portkey-custom-host": `${mock.url}/v1` },
        model: UPSTREAM_MODEL,
        pids: [portkey.child.child.pid!],
      });
    }
    if (cfg.targets.includes("switchyard")) {
      process.stdout.write(
        `starting switchyard (gateway, router-worker with ROUTER_CONCURRENCY=${cfg.routerConcurrency}, usage-aggregator; fresh database and Redis prefix)\n`,
      );
      stack = await startStack({
        env: {
          MODEL_CATALOG_PATH: catalog.file,
          OPENAI_BASE_URL: `${mock.url}/v1`,
          OPENAI_API_KEY: API_KEY,
          ROUTER_CONCURRENCY: String(cfg.routerConcurrency),
        },
      });
      targets.set("switchyard", {
        name: "switchyard",
        origin: stack.url,
        headers: { authorization: `Bearer ${stack.key}` },
        model: MODEL_ID,
        pids: [...stack.apps.values()].map((a) => a.child.pid!).filter((p) => p !== undefined),
      });
    }

    if (stack) redis = createRedis(stack.env.REDIS_URL!);
    const ctx: Ctx = {
      cfg,
      mock,
      benchPids: [...targets.values()].flatMap((t) => t.pids).filter((p, i, all) => all.indexOf(p) === i),
      database: stack?.database.name ?? null,
      redis,
    };
    const closed: ClosedResult[] = [];
    const open: OpenResult[] = [];
    for (let r = 0; r < cfg.rounds; r++) {
      for (const name of orderFor(r, cfg)) {
        process.stdout.write(`round ${r + 1}: closed loop, ${name}\n`);
        closed.push(await closedPhase(targets.get(name)!, ctx));
      }
      for (const name of orderFor(r, cfg)) {
        process.stdout.write(`round ${r + 1}: open loop, ${name}\n`);
        open.push(await openPhase(targets.get(name)!, ctx));
      }
    }
    const agg = aggregate(cfg, closed, open);
    const v = verdicts(agg);
    process.stdout.write(report(cfg, closed, open, agg, v));

    const strip = <T extends { latencies: number[] }>(r: T) => {
      const { latencies: _omit, ...rest } = r;
      return rest;
    };
    const result = {
      generated_at: started.toISOString(),
      git: gitState(),
      machine: {
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        cpus: os.cpus().length,
        cpu_model: os.cpus()[0]?.model ?? null,
        loadavg_at_start: loadAtStart,
        loadavg_at_end: os.loadavg().map((x) => round(x)),
      },
      note: "Bench client, mock upstream, Portkey, Switchyard (gateway, router-worker, usage-aggregator), Redis and Postgres share this machine's CPUs; loopback only. Switchyard's target CPU is its three app processes (Redis and Postgres not included).",
      config: { ...cfg, out: path.relative(REPO_ROOT, cfg.out) },
      portkey: portkey
        ? {
            version: portkeyVersion,
            command: `node ${path.relative(REPO_ROOT, PORTKEY_DIR)}/<bin> --port=<free port> --headless`,
            output: complaints(portkey.child.output()),
          }
        : null,
      switchyard: stack
        ? {
            router_concurrency: cfg.routerConcurrency,
            redis_prefix: stack.prefix,
            app_output: appComplaints(stack),
          }
        : null,
      goals: { throughput_ratio_at_least: 2, added_p50_difference_at_most_ms: 0 },
      verdicts: v,
      aggregate: agg,
      closed_loop: closed.map(strip),
      open_loop: open.map(strip),
    };
    for (const [label, c] of Object.entries(result.switchyard?.app_output ?? {}))
      if (c.lines > 0) process.stdout.write(`${label} printed ${c.lines} warning/error line(s), first: ${c.first[0]}\n`);
    writeResult(cfg.out, result, REPO_ROOT);
  } finally {
    await cleanup();
  }
}

if (process.argv[2] === "--mock-upstream") {
  runMockUpstream(Number(process.argv[3] ?? 50));
} else {
  runBench(main);
}
