/**
 * A large batch in the background of interactive traffic (issue 18): does a 10 000-line batch
 * hurt the latency of interactive jobs, and how fast does the batch run?
 *
 * One stack as `pnpm start` runs it (gateway with its batch runner, router-worker, usage
 * aggregator; real Redis and Postgres), one simulated model for both kinds of work. Interactive
 * jobs: `POST /v1/chat/completions` (the request waits for the job), on an open-loop schedule of
 * BENCH_INTERACTIVE_RPS for BENCH_INTERACTIVE_SECONDS, latency measured from each request's due
 * time (no coordinated omission). Two phases in the same run:
 *   1. without the batch: the interactive schedule alone (the baseline);
 *   2. with the batch: a BENCH_BATCH_LINES-line batch created through the Batch API (upload,
 *      create), the same interactive schedule started once the batch is running and has settled
 *      lines, then the batch waited for until it completes.
 * Prints interactive p50/p99 with ÷ without the batch (goal ≤ 1.5), the batch's lines/s (from
 * in_progress_at to completed_at) and its completion time (created_at to completed_at); writes
 * bench/out/batch-interactive.json.
 *
 *   pnpm bench:batch
 *   BENCH_BATCH_LINES=10000 BENCH_INTERACTIVE_RPS=5 BENCH_INTERACTIVE_SECONDS=30 BENCH_MAX_TOKENS=16
 *   BENCH_BATCH_TIMEOUT_SECONDS=900 (the batch's bound; past it the bench reports it unfinished and fails)
 *   BENCH_OUT=bench/out/batch-interactive.json
 * Needs Redis (TEST_REDIS_URL, default 127.0.0.1:6379) and Postgres (TEST_DATABASE_URL), as the integration tests do.
 */
import { rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startStack, type Stack } from "@switchyard/testkit";
import { envInt, runBench, writeSimulatedCatalog, writeResult } from "./lib/bench-env";
import { runOpenLoop, type OpenLoopResult } from "./lib/open-loop";
import { round, summarize, table, type Summary } from "./lib/stats";

const REPO_ROOT = path.resolve(__dirname, "..");
const MODEL = "bench-sim";

function readConfig() {
  return {
    lines: envInt("BENCH_BATCH_LINES", 10_000),
    rps: envInt("BENCH_INTERACTIVE_RPS", 5),
    seconds: envInt("BENCH_INTERACTIVE_SECONDS", 30),
    maxTokens: envInt("BENCH_MAX_TOKENS", 16),
    batchTimeoutMs: envInt("BENCH_BATCH_TIMEOUT_SECONDS", 900) * 1000,
    out: path.resolve(REPO_ROOT, process.env.BENCH_OUT ?? "bench/out/batch-interactive.json"),
  };
}
type Config = ReturnType<typeof readConfig>;

interface BatchView {
  id: string;
  status: string;
  created_at: number;
  in_progress_at: number | null;
  completed_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function interactive(stack: Stack, cfg: Config, tag: string): Promise<OpenLoopResult> {
  return runOpenLoop({
    ratePerSecond: cfg.rps,
    durationMs: cfg.seconds * 1000,
    maxInFlight: 200,
    drainTimeoutMs: 60_000,
    op: async (i) => {
      const res = await fetch(`${stack.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${stack.key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: MODEL, max_tokens: cfg.maxTokens, messages: [{ role: "user", content: `interactive ${tag} ${i}` }] }),
      });
      const body = (await res.json()) as { choices?: Array<{ message?: { content?: string } }> };
      if (res.status !== 200 || !body.choices?.[0]?.message?.content) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
    },
  });
}

async function getBatch(stack: Stack, id: string): Promise<BatchView> {
  const res = await fetch(`${stack.url}/v1/batches/${id}`, { headers: { authorization: `Bearer ${stack.key}` } });
  if (res.status !== 200) throw new Error(`GET /v1/batches/${id}: HTTP ${res.status}`);
  return (await res.json()) as BatchView;
}

async function createBatch(stack: Stack, cfg: Config): Promise<string> {
  const text =
    Array.from({ length: cfg.lines }, (_, i) =>
      JSON.stringify({
        custom_id: `l${i}`,
        method: "POST",
        url: "/v1/chat/completions",
        body: { model: MODEL, max_tokens: cfg.maxTokens, messages: [{ role: "user", content: `batch line ${i}` }] },
      }),
    ).join("\n") + "\n";
  const form = new FormData();
  form.append("purpose", "batch");
  form.append("file", new Blob([text]), "bench.jsonl");
  const up = await fetch(`${stack.url}/v1/files`, { method: "POST", headers: { authorization: `Bearer ${stack.key}` }, body: form });
  const file = (await up.json()) as { id?: string };
  if (up.status !== 200 || !file.id) throw new Error(`upload: HTTP ${up.status} ${JSON.stringify(file).slice(0, 200)}`);
  const res = await fetch(`${stack.url}/v1/batches`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.key}`, "content-type": "application/json" },
    body: JSON.stringify({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" }),
  });
  const b = (await res.json()) as { id?: string };
  if (res.status !== 200 || !b.id) throw new Error(`create batch: HTTP ${res.status} ${JSON.stringify(b).slice(0, 200)}`);
  return b.id;
}

/** Poll the batch until `done(b)` or the deadline (then throws, naming what it waited for). */
async function until(stack: Stack, id: string, deadline: number, what: string, done: (b: BatchView) => boolean): Promise<BatchView> {
  for (;;) {
    const b = await getBatch(stack, id);
    if (done(b)) return b;
    if (["failed", "expired", "cancelled"].includes(b.status)) throw new Error(`batch ended ${b.status} while waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (status ${b.status}, ${JSON.stringify(b.request_counts)})`);
    await sleep(500);
  }
}

function summaryOf(r: OpenLoopResult): Summary & { ok: number; failed: number; dropped: number } {
  return { ...summarize(r.latencies), ok: r.ok, failed: r.failed, dropped: r.dropped };
}

/** The stack, tried up to 3 times: on a loaded machine an app can miss startStack's 30 s readiness bound. */
async function startWithRetries(env: Record<string, string>): Promise<Stack> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startStack({ env });
    } catch (err) {
      if (attempt >= 3) throw err;
      process.stdout.write(`stack start failed (${(err as Error).message.split("\n")[0]}); trying again\n`);
    }
  }
}

async function main(): Promise<void> {
  const cfg = readConfig();
  const catalog = writeSimulatedCatalog(MODEL, "batch");
  // The batch runner's throttle settings (BATCH_MAX_IN_FLIGHT, BATCH_ADAPTIVE, ...) pass through to the gateway.
  const batchEnv = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith("BATCH_") && e[1] !== undefined));
  const stack = await startWithRetries({ MODEL_CATALOG_PATH: catalog.file, LOG_LEVEL: "warn", ...batchEnv });
  try {
    process.stdout.write(
      `batch-interactive: ${cfg.lines}-line batch; interactive ${cfg.rps}/s for ${cfg.seconds}s per phase; max_tokens ${cfg.maxTokens}; ${os.cpus().length} CPUs; ${JSON.stringify(batchEnv)}\n`,
    );
    // Warm-up (connections, JIT, catalog caches), not measured.
    await runOpenLoop({ ratePerSecond: cfg.rps, durationMs: 3000, maxInFlight: 50, op: async () => void (await fetch(`${stack.url}/health`)) });
    const without = await interactive(stack, cfg, "alone");
    process.stdout.write(`phase 1 (no batch): ${without.ok} ok, ${without.failed} failed\n`);

    const t0 = Date.now();
    const id = await createBatch(stack, cfg);
    const deadline = t0 + cfg.batchTimeoutMs;
    // Steady state: the batch runs and lines are settling before interactive traffic is measured.
    await until(stack, id, deadline, "the batch to run", (b) => b.status === "in_progress" && b.request_counts.completed >= 50);
    const started = await getBatch(stack, id);
    const withBatch = await interactive(stack, cfg, "with-batch");
    const during = await getBatch(stack, id);
    process.stdout.write(
      `phase 2 (batch running): ${withBatch.ok} ok, ${withBatch.failed} failed; batch ${during.request_counts.completed}/${cfg.lines} lines\n`,
    );
    if (during.status !== "in_progress") process.stdout.write("warning: the batch ended before the interactive phase did; raise BENCH_BATCH_LINES\n");
    const done = await until(stack, id, deadline, "the batch to complete", (b) => b.status === "completed");

    const a = summaryOf(without);
    const b = summaryOf(withBatch);
    const runSeconds = done.completed_at! - done.in_progress_at!;
    const result = {
      config: { ...cfg, batch_env: batchEnv },
      interactive_without_batch_ms: a,
      interactive_with_batch_ms: b,
      ratio_p50: round(b.p50 / a.p50),
      ratio_p99: round(b.p99 / a.p99),
      batch: {
        lines: cfg.lines,
        completed: done.request_counts.completed,
        failed: done.request_counts.failed,
        completion_seconds: done.completed_at! - done.created_at,
        run_seconds: runSeconds,
        lines_per_second: round(cfg.lines / Math.max(1, runSeconds)),
        lines_per_second_during_interactive: round((during.request_counts.completed - started.request_counts.completed) / (withBatch.elapsedMs / 1000)),
        // The rest of the run: the batch alone (no interactive traffic).
        lines_per_second_without_interactive: round(
          (cfg.lines - (during.request_counts.completed - started.request_counts.completed)) / Math.max(1, runSeconds - withBatch.elapsedMs / 1000),
        ),
      },
    };
    process.stdout.write(
      [
        "",
        table(
          ["interactive /v1/chat/completions", "p50 ms", "p99 ms", "mean ms", "max ms", "ok", "failed"],
          [
            ["without the batch", a.p50, a.p99, a.mean, a.max, a.ok, a.failed],
            [`with the ${cfg.lines}-line batch running`, b.p50, b.p99, b.mean, b.max, b.ok, b.failed],
            ["with ÷ without (goal <= 1.5)", result.ratio_p50, result.ratio_p99, "-", "-", "-", "-"],
          ],
        ),
        "",
        table(
          ["batch", "value"],
          [
            ["lines (completed / failed)", `${done.request_counts.completed} / ${done.request_counts.failed}`],
            ["completion time, created -> completed (s)", result.batch.completion_seconds],
            ["run time, in_progress -> completed (s)", runSeconds],
            ["lines/s (whole run)", result.batch.lines_per_second],
            ["lines/s (during the interactive phase)", result.batch.lines_per_second_during_interactive],
            ["lines/s (without interactive traffic: the rest of the run)", result.batch.lines_per_second_without_interactive],
          ],
        ),
        "",
      ].join("\n"),
    );
    // The throttle's back-offs by signal (waiting, local, lag): what it yielded to.
    const metrics = await (await fetch(`${stack.url}/metrics`)).text().catch(() => "");
    const backoffs = metrics.split("\n").filter((l) => l.startsWith("ai_batch_backoffs_total") || l.startsWith("ai_batch_admit_limit"));
    process.stdout.write(`${backoffs.join("\n") || "ai_batch_backoffs_total: none"}\n`);
    writeResult(cfg.out, { ...result, throttle_metrics: backoffs }, REPO_ROOT);
    if (done.request_counts.failed > 0) throw new Error(`${done.request_counts.failed} batch lines failed`);
  } finally {
    await stack.stop();
    rmSync(catalog.dir, { recursive: true, force: true });
  }
}

runBench(main);
