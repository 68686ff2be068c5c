/**
 * Time to first token through the queue: what `POST /v1/chat/completions` with `stream: true`
 * adds over the upstream's own time to first token (issue 13, P3).
 *
 * A fake OpenAI upstream (testkit's, speaking `chat.completion.chunk` exactly) streams with a
 * fixed time to first chunk. Sequentially (one request at a time, after a warm-up), the bench
 * measures (a) the upstream called directly: request sent → first chunk with non-empty
 * `delta.content`; (b) the same through Switchyard (gateway → ai-route → router-worker → the same
 * upstream → Redis Stream → gateway SSE). Added = (b) − (a) at p50 and p99. For (b) it also reports
 * where the time goes, each milestone in ms after the request was sent: BullMQ's enqueue and
 * pickup times (the job hash), the upstream receiving the call, the worker's event writes (Redis
 * Stream ids) and the client's receive times.
 *
 * Prints tables and writes `bench/out/ttft.json`. Options (env):
 *   BENCH_TTFT_N=200 BENCH_TTFT_WARMUP=30            measured and warm-up requests per path
 *   BENCH_UPSTREAM_TTFT_MS=20                        the fake upstream's time to first chunk
 *   BENCH_MAX_TOKENS=8                               answer length (pieces) per request
 *   BENCH_PHASE_SECONDS=60 (time limit of each measured run)  BENCH_TIMEOUT_SECONDS=300 (whole run)
 *   BENCH_OUT=bench/out/ttft.json  BENCH_RAW=1 (every request's milestones in the JSON too)
 *   SWITCHYARD_PROFILE_DIR=<dir> (CPU profiles of the apps, on exit)
 * Needs Redis (REDIS_URL / TEST_REDIS_URL, default 127.0.0.1:6379) and Postgres (TEST_DATABASE_URL,
 * default postgres://postgres@127.0.0.1:5432/postgres), as the integration tests do.
 */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRedis, RedisKeys, type Redis } from "@switchyard/queue";
import { startFakeOpenAI, startStack, type FakeOpenAI, type Stack } from "@switchyard/testkit";
import { Pool } from "undici";
import { envInt, runBench, writeOneModelCatalog, writeResult } from "./lib/bench-env";
import { chatStreamTiming, type ChatStreamTiming } from "./lib/chat-stream-timing";
import { round, summarize, table, type Summary } from "./lib/stats";

const REPO_ROOT = path.resolve(__dirname, "..");
const MODEL_ID = "bench-openai";
const UPSTREAM_MODEL = "gpt-4o-mini";
const REPLY = "one two three four five six seven eight nine ten eleven twelve";

function readConfig() {
  return {
    n: envInt("BENCH_TTFT_N", 200),
    warmup: envInt("BENCH_TTFT_WARMUP", 30, 0),
    upstreamTtftMs: envInt("BENCH_UPSTREAM_TTFT_MS", 20, 0),
    maxTokens: envInt("BENCH_MAX_TOKENS", 8),
    phaseMs: envInt("BENCH_PHASE_SECONDS", 60) * 1000,
    timeoutMs: envInt("BENCH_TIMEOUT_SECONDS", 300) * 1000,
    out: path.resolve(REPO_ROOT, process.env.BENCH_OUT ?? "bench/out/ttft.json"),
    raw: process.env.BENCH_RAW === "1",
  };
}
type Config = ReturnType<typeof readConfig>;

/** A catalog with one OpenAI model (served by the fake through OPENAI_BASE_URL). */
function writeCatalog(cfg: Config): { file: string; dir: string } {
  return writeOneModelCatalog(
    {
      id: MODEL_ID,
      provider: "openai",
      upstream_model: UPSTREAM_MODEL,
      max_output_tokens: cfg.maxTokens,
      pricing: { input: 0.15, output: 0.6, cached_input: 0.075 },
    },
    "ttft",
  );
}

/** A sequential run of at most `total` operations, stopped at `timeLimitMs`. */
async function sequential(
  total: number,
  timeLimitMs: number,
  op: (i: number) => Promise<void>,
): Promise<{ ok: number; failed: number; errors: string[]; timedOut: boolean }> {
  const deadline = performance.now() + timeLimitMs;
  const errors: string[] = [];
  let ok = 0;
  let failed = 0;
  for (let i = 0; i < total; i++) {
    if (performance.now() > deadline) return { ok, failed, errors, timedOut: true };
    try {
      await op(i);
      ok++;
    } catch (err) {
      failed++;
      if (errors.length < 5) errors.push((err as Error).message);
    }
  }
  return { ok, failed, errors, timedOut: false };
}

/** Milestones of one request through Switchyard, ms after it was sent (wall-clock ones at 1 ms resolution). */
interface Milestones {
  enqueued: number;
  pickedUp: number;
  upstreamCalled: number;
  runningWritten: number;
  firstDeltaWritten: number;
  headers: number;
  firstContent: number;
}

/** Time of a Redis Stream id (`<ms>-<seq>`), epoch ms. */
const idMs = (id: string) => Number(id.split("-")[0]);

/** When BullMQ enqueued and a worker took the job, and when the worker wrote `running` and the first delta. */
async function writeTimes(redis: Redis, keys: RedisKeys, jobId: string) {
  const [job, events] = await Promise.all([
    redis.hmget(keys.bullJob("ai-route", jobId), "timestamp", "processedOn"),
    redis.xrange(keys.events(jobId), "-", "+", "COUNT", 50),
  ]);
  let running: number | null = null;
  let firstDelta: number | null = null;
  for (const [id, fields] of events) {
    const raw = fields[1] ?? "";
    if (running === null && raw.includes('"type":"status"') && raw.includes('"status":"running"')) running = idMs(id);
    if (firstDelta === null && raw.includes('"type":"delta"')) firstDelta = idMs(id);
  }
  return { enqueued: Number(job[0] ?? NaN), pickedUp: Number(job[1] ?? NaN), running, firstDelta };
}

async function measure(stack: Stack, fake: FakeOpenAI, calledAt: Map<string, number>, cfg: Config, redis: Redis) {
  const keys = new RedisKeys(stack.prefix);
  // The same request both ways; through Switchyard the model is named by its catalog id.
  const body = (tag: string, model = UPSTREAM_MODEL) => ({
    model,
    stream: true,
    max_tokens: cfg.maxTokens,
    messages: [{ role: "user", content: `ttft bench ${tag}` }],
  });
  const check = (s: ChatStreamTiming, what: string) => {
    if (s.status !== 200 || s.error) throw new Error(`${what}: HTTP ${s.status} ${s.error ?? ""}`);
    if (s.firstContentMs === null || s.doneMs === null) throw new Error(`${what}: no content or no [DONE]`);
    if (s.contentChunks !== cfg.maxTokens) throw new Error(`${what}: ${s.contentChunks} content chunks, expected ${cfg.maxTokens}`);
  };

  const upstream = new URL(fake.url);
  const directPool = new Pool(upstream.origin, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 });
  const directTtft: number[] = [];
  const direct = async (i: number, record: boolean) => {
    const t0 = performance.now();
    const s = await chatStreamTiming(
      directPool,
      `${upstream.pathname}/chat/completions`,
      { authorization: "Bearer sk-bench" },
      body(`direct ${i}`),
      t0,
      30_000,
    );
    check(s, `direct #${i}`);
    if (record) directTtft.push(s.firstContentMs!);
  };

  const gwPool = new Pool(stack.url, { connections: 1, pipelining: 1, keepAliveTimeout: 60_000 });
  const viaTtft: number[] = [];
  const viaTotal: number[] = [];
  const marks: Array<Milestones & { jobId: string }> = [];
  const via = async (i: number, record: boolean) => {
    const tag = `via ${i}`;
    const t0 = performance.now();
    const t0Wall = Date.now();
    const s = await chatStreamTiming(gwPool, "/v1/chat/completions", { authorization: `Bearer ${stack.key}` }, body(tag, MODEL_ID), t0, 30_000);
    check(s, `via #${i}`);
    if (!record) return;
    viaTtft.push(s.firstContentMs!);
    viaTotal.push(s.doneMs!);
    const jobId = String(s.headers["x-switchyard-job-id"] ?? "");
    const w = await writeTimes(redis, keys, jobId);
    const called = calledAt.get(`ttft bench ${tag}`);
    marks.push({
      jobId,
      enqueued: w.enqueued - t0Wall,
      pickedUp: w.pickedUp - t0Wall,
      upstreamCalled: called === undefined ? NaN : called - t0,
      runningWritten: w.running === null ? NaN : w.running - t0Wall,
      firstDeltaWritten: w.firstDelta === null ? NaN : w.firstDelta - t0Wall,
      headers: s.headersMs,
      firstContent: s.firstContentMs!,
    });
  };

  try {
    const warm = Math.min(cfg.warmup, 1_000);
    await sequential(warm, cfg.phaseMs, (i) => direct(1_000_000 + i, false));
    await sequential(warm, cfg.phaseMs, (i) => via(1_000_000 + i, false));
    const d = await sequential(cfg.n, cfg.phaseMs, (i) => direct(i, true));
    const v = await sequential(cfg.n, cfg.phaseMs, (i) => via(i, true));
    const dt = summarize(directTtft);
    const vt = summarize(viaTtft);
    const col = (k: keyof Milestones) => summarize(marks.map((m) => m[k]).filter(Number.isFinite));
    const seg = (f: (m: Milestones) => number) => summarize(marks.map(f).filter(Number.isFinite));
    return {
      n: cfg.n,
      warmup: warm,
      upstream_ttft_ms: cfg.upstreamTtftMs,
      max_tokens: cfg.maxTokens,
      direct: { ok: d.ok, failed: d.failed, errors: d.errors, timed_out: d.timedOut, ttft_ms: dt },
      switchyard: { ok: v.ok, failed: v.failed, errors: v.errors, timed_out: v.timedOut, ttft_ms: vt, done_ms: summarize(viaTotal) },
      added_ms: { p50: round(vt.p50 - dt.p50), p99: round(vt.p99 - dt.p99), mean: round(vt.mean - dt.mean) },
      milestones_ms: {
        enqueued: col("enqueued"),
        picked_up: col("pickedUp"),
        upstream_called: col("upstreamCalled"),
        running_written: col("runningWritten"),
        first_delta_written: col("firstDeltaWritten"),
        headers_received: col("headers"),
        first_content_received: col("firstContent"),
      },
      // Per request, the segments between consecutive milestones (wall-clock ones at 1 ms resolution).
      segments_ms: {
        request_to_enqueued: seg((m) => m.enqueued),
        enqueued_to_picked_up: seg((m) => m.pickedUp - m.enqueued),
        picked_up_to_upstream_called: seg((m) => m.upstreamCalled - m.pickedUp),
        upstream_called_to_first_delta_written: seg((m) => m.firstDeltaWritten - m.upstreamCalled),
        first_delta_written_to_client: seg((m) => m.firstContent - m.firstDeltaWritten),
      },
      // BENCH_RAW=1: every measured request's milestones (job id, ms after it was sent).
      ...(cfg.raw
        ? { requests: marks.map((m) => ({ ...m, upstreamCalled: round(m.upstreamCalled), headers: round(m.headers), firstContent: round(m.firstContent) })) }
        : {}),
    };
  } finally {
    await directPool.close();
    await gwPool.close();
  }
}
type Result = Awaited<ReturnType<typeof measure>>;

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

function report(r: Result): void {
  const row = (name: string, s: Summary) => [name, s.p50, s.p99, s.mean, s.max];
  const lines = [
    `\nTTFT, sequential: N=${r.n} per path after ${r.warmup} warm-up; upstream time to first chunk ${r.upstream_ttft_ms} ms; ${r.max_tokens} content chunks per answer`,
    table(
      ["measure", "p50 ms", "p99 ms", "mean ms", "max ms"],
      [
        row("upstream direct: first content chunk", r.direct.ttft_ms),
        row("via /v1/chat/completions: first content chunk", r.switchyard.ttft_ms),
        row("via /v1/chat/completions: [DONE]", r.switchyard.done_ms),
        ["added by Switchyard (via - direct)", r.added_ms.p50, r.added_ms.p99, r.added_ms.mean, "-"],
      ],
    ),
    "where it goes (ms after the request was sent; BullMQ and Redis Stream times at 1 ms resolution):",
    table(
      ["milestone", "p50 ms", "p99 ms"],
      [
        ["gateway enqueued (BullMQ job timestamp)", r.milestones_ms.enqueued.p50, r.milestones_ms.enqueued.p99],
        ["worker picked up (BullMQ processedOn)", r.milestones_ms.picked_up.p50, r.milestones_ms.picked_up.p99],
        ["upstream received the call", r.milestones_ms.upstream_called.p50, r.milestones_ms.upstream_called.p99],
        ["worker wrote status running", r.milestones_ms.running_written.p50, r.milestones_ms.running_written.p99],
        ["worker wrote first delta", r.milestones_ms.first_delta_written.p50, r.milestones_ms.first_delta_written.p99],
        ["client got response headers", r.milestones_ms.headers_received.p50, r.milestones_ms.headers_received.p99],
        ["client got first content chunk", r.milestones_ms.first_content_received.p50, r.milestones_ms.first_content_received.p99],
      ],
    ),
    "segments, per request:",
    table(
      ["segment", "p50 ms", "p99 ms", "mean ms"],
      [
        [
          "request sent -> enqueued (gateway admission)",
          r.segments_ms.request_to_enqueued.p50,
          r.segments_ms.request_to_enqueued.p99,
          r.segments_ms.request_to_enqueued.mean,
        ],
        [
          "enqueued -> picked up (queue wait)",
          r.segments_ms.enqueued_to_picked_up.p50,
          r.segments_ms.enqueued_to_picked_up.p99,
          r.segments_ms.enqueued_to_picked_up.mean,
        ],
        [
          "picked up -> upstream called (worker)",
          r.segments_ms.picked_up_to_upstream_called.p50,
          r.segments_ms.picked_up_to_upstream_called.p99,
          r.segments_ms.picked_up_to_upstream_called.mean,
        ],
        [
          "upstream called -> first delta written",
          r.segments_ms.upstream_called_to_first_delta_written.p50,
          r.segments_ms.upstream_called_to_first_delta_written.p99,
          r.segments_ms.upstream_called_to_first_delta_written.mean,
        ],
        [
          "first delta written -> client (gateway)",
          r.segments_ms.first_delta_written_to_client.p50,
          r.segments_ms.first_delta_written_to_client.p99,
          r.segments_ms.first_delta_written_to_client.mean,
        ],
      ],
    ),
    `failures: direct ${r.direct.failed}, via ${r.switchyard.failed}${r.switchyard.errors.length ? ` (${r.switchyard.errors[0]})` : ""}${r.direct.errors.length ? ` (${r.direct.errors[0]})` : ""}`,
  ];
  process.stdout.write(lines.join("\n") + "\n");
}

async function main(): Promise<void> {
  const cfg = readConfig();
  const catalog = writeCatalog(cfg);
  const started = new Date();
  // When the upstream received each call, by its prompt (the fake asks for the reply per request).
  const calledAt = new Map<string, number>();
  const fake = await startFakeOpenAI({
    firstChunkDelayMs: cfg.upstreamTtftMs,
    reply: (req) => {
      const messages = (req.body as { messages?: Array<{ content?: unknown }> }).messages ?? [];
      const prompt = messages.map((m) => (typeof m.content === "string" ? m.content : "")).find((c) => c.startsWith("ttft bench "));
      if (prompt) calledAt.set(prompt, performance.now());
      return REPLY;
    },
  });
  let stack: Stack | null = null;
  let redis: Redis | null = null;
  let stopping: Promise<void> | null = null;
  const cleanup = () =>
    (stopping ??= (async () => {
      redis?.disconnect();
      await stack?.stop().catch((err: Error) => process.stderr.write(`stack.stop failed: ${err.message}\n`));
      await fake.close();
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
      `starting gateway, router-worker, usage-aggregator (fresh database and Redis prefix) on ${os.cpus().length} CPU(s), load average ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")}\n`,
    );
    stack = await startStack({ env: { MODEL_CATALOG_PATH: catalog.file, OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: "sk-bench" } });
    redis = createRedis(stack.env.REDIS_URL!);
    const r = await measure(stack, fake, calledAt, cfg, redis);
    report(r);
    const complaints = appComplaints(stack);
    for (const [label, c] of Object.entries(complaints))
      if (c.lines > 0) process.stdout.write(`${label} printed ${c.lines} warning/error line(s), first: ${c.first[0]}\n`);
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
      note: "Sequential requests; the bench client, fake upstream, apps, Redis and Postgres share this machine's CPUs (loopback only). added_ms = via − direct at each percentile.",
      ...r,
      app_output: complaints,
    };
    writeResult(cfg.out, result, REPO_ROOT);
  } finally {
    await cleanup();
  }
}

runBench(main);
