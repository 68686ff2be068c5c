/**
 * Phase (b) of `bench/gateway-overhead.ts`: POST → `done` through gateway, queue and router-worker
 * vs the simulated provider called directly, with when the worker wrote each event; and the check
 * afterwards that the usage aggregator wrote one ledger row per finished job.
 */
import { createSimulatedProvider } from "@switchyard/providers";
import type { Stack } from "@switchyard/testkit";
import { Pool } from "undici";
import { runClosedLoop } from "./closed-loop";
import { jobBody, MODEL_ID, type Config } from "./overhead-config";
import { sseUntilTerminal } from "./sse-until-terminal";
import { round, summarize } from "./stats";

/** (b) Latency: POST → `done` through the whole system vs the simulated provider called directly. */
export async function latencyPhase(stack: Stack, cfg: Config) {
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

export type LatencyResult = Awaited<ReturnType<typeof latencyPhase>>;

/** Waits (bounded) for the aggregator to write one usage row per finished job; returns the counts. */
export async function ledgerCheck(stack: Stack, expected: number, waitMs = 15_000) {
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
