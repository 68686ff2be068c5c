import { randomUUID } from "node:crypto";
import { isApiError, type BatchPausedReason } from "@switchyard/contracts";
import {
  batchLines,
  claimBatch,
  markLineSubmitted,
  moveBatch,
  pauseBatch,
  recountBatch,
  releaseBatch,
  repeatLine,
  resumeBatch,
  settleLine as settleLineRow,
  type BatchLineRow,
  type BatchRow,
} from "@switchyard/db";
import type { GatewayResources } from "../resources";
import { admitLine, batchPrincipal, embedLine, errorLine, isTransient, lineOutcome, refusedLine } from "./batch-lines";
import { finalizeBatch, validateBatch } from "./batch-files";
import { batchLinesCounter, pausedBatchesGauge } from "./batch-runner-metrics";
import { sweepExpiredFiles } from "./files-service";
import { cancelJob } from "./job-service";
import { ORPHAN_AFTER_MS } from "./job-payloads";
import { BatchThrottle } from "./batch-throttle";
import type { BatchRunner, BatchRunnerOptions } from "./batch-runner-options";

export type { BatchRunner, BatchRunnerOptions } from "./batch-runner-options";

/** A budget refusal's pause reason (null for any other refusal): an admission's ApiError, or a job's failure code. */
const pauseReasonOf = (err: unknown): BatchPausedReason | null => {
  const code = isApiError(err) ? err.code : typeof err === "object" && err !== null && "code" in err ? err.code : undefined;
  return code === "budget_exhausted" ? "budget_exhausted" : code === "insufficient_credits" ? "credits_exhausted" : null;
};

/**
 * The batch runner: moves every batch through validating → in_progress → finalizing → completed
 * (or cancelling → cancelled, or expired past its window). All of its state is in Postgres
 * (`batches`, `batch_lines`), so any number of runners, in any gateway, may run; each round
 * works one batch under a lease (`claimBatch`), and every step is safe to repeat after a kill:
 *   - validating: the lines and the move to in_progress are one transaction;
 *   - a line is admitted under the idempotency key (batch, custom_id) before its job is recorded,
 *     so one admitted again (a runner died between, or a second runner raced it) is a replay of
 *     the same job: no line runs twice, none is lost (a pending line stays pending until recorded);
 *   - a line's outcome is written only from `submitted`, once;
 *   - output and error files have ids derived from the batch and are rewritten whole.
 */
export function startBatchRunner(r: GatewayResources, opts: BatchRunnerOptions = {}): BatchRunner {
  const pollMs = opts.pollMs ?? 1000;
  const submitChunk = opts.submitChunk ?? 50;
  const admitConcurrency = Math.max(1, opts.admitConcurrency ?? 4);
  /** Whether this round moved a line (admitted or settled it): the next round then follows soon, not after `pollMs`. */
  let progressed = false;
  const maxInFlight = opts.maxInFlight ?? 200;
  const leaseMs = Math.max(opts.leaseMs ?? 30_000, ORPHAN_AFTER_MS + 1000);
  const owner = opts.owner ?? randomUUID();
  const pauseRetryMs = opts.pauseRetryMs ?? 60_000;
  /** When this runner last tried the next line of a paused batch (by batch id). */
  const pausedTriedAt = new Map<string, number>();
  /** False while a paused batch waits out `pauseRetryMs` since this runner's last try. */
  const mayTry = (b: BatchRow) => b.paused_reason === null || Date.now() - (pausedTriedAt.get(b.id) ?? 0) >= pauseRetryMs;
  /** Pause a batch whose next line was refused for `reason` (or keep it paused), and note the try. */
  const pause = async (b: BatchRow, reason: BatchPausedReason, line: number) => {
    pausedTriedAt.set(b.id, Date.now());
    if (await pauseBatch(r.db, b.id, reason)) r.logger.info({ batchId: b.id, reason, line }, "batch paused: its next line does not fit the budget");
  };
  /** A line of a paused batch was admitted: the pause ends. */
  const resume = async (b: BatchRow) => {
    pausedTriedAt.delete(b.id);
    if (await resumeBatch(r.db, b.id)) r.logger.info({ batchId: b.id }, "batch resumed: its lines fit the budget again");
  };
  const files = opts.files ?? {};
  const throttle = opts.throttle instanceof BatchThrottle ? opts.throttle : new BatchThrottle(r, opts.throttle);
  const linesCounter = batchLinesCounter(r.registry);
  pausedBatchesGauge(r);
  /** Settle a line, counting it in `ai_batch_lines_total{endpoint,result}` when this call settled it. */
  const settleLine = async (...args: Parameters<typeof settleLineRow>) => {
    const [, batchId, , , state] = args;
    if (await settleLineRow(...args)) {
      linesCounter.add(1, { endpoint: endpointOf.get(batchId) ?? "unknown", result: state });
      progressed = true;
    }
  };
  const endpointOf = new Map<string, string>();
  let stopped = false;
  /** When this round's lease began: inline work (embeddings lines) stops at half the lease, long before another runner may take the batch. */
  let claimedAt = 0;
  let wake: (() => void) | null = null;

  async function round(): Promise<boolean> {
    const b = await claimBatch(r.db, owner, leaseMs);
    if (!b) return false;
    claimedAt = Date.now();
    try {
      await step(b);
    } catch (err) {
      r.logger.warn({ err: (err as Error).message, batchId: b.id }, "batch round failed; it is tried again next round");
    } finally {
      await releaseBatch(r.db, b.id, owner).catch(() => undefined);
    }
    return true;
  }

  async function step(b: BatchRow): Promise<void> {
    endpointOf.set(b.id, b.endpoint);
    switch (b.status) {
      case "validating":
        return validateBatch(r, b, files, linesCounter);
      case "in_progress":
        if (b.expires_at.getTime() <= Date.now()) return wind(b, "expired");
        await collect(b);
        await submit(b);
        if ((await recountBatch(r.db, b.id)).open === 0 && (await moveBatch(r.db, b.id, ["in_progress"], "finalizing")))
          await finalize(b, "finalizing", "completed");
        return;
      case "finalizing":
        return finalize(b, "finalizing", "completed");
      case "cancelling":
        return wind(b, "cancelled");
      default:
        return;
    }
  }

  /** Settle the submitted lines whose jobs ended; with `canceledAs`, a canceled job's line is settled as that (an expired batch's). */
  async function collect(b: BatchRow, canceledAs?: { state: "expired"; code: string; message: string }): Promise<void> {
    for (let after = 0; ;) {
      const lines = await batchLines(r.db, b.id, "submitted", 200, after);
      for (const l of lines) {
        const out = await lineOutcome(r, b, l);
        if (!out) continue;
        // Refused for budget after admission (a re-run the budget could not cover): never a failed
        // line; it waits, pending, with the batch paused, and runs again as a new job.
        const refusal = !canceledAs && out.state === "failed" ? pauseReasonOf({ code: out.code }) : null;
        if (refusal) {
          if (await repeatLine(r.db, b.id, l.line, l.job_id!)) await pause(b, refusal, l.line);
          continue;
        }
        if (out.state === "canceled" && canceledAs)
          await settleLine(r.db, b.id, l.line, ["submitted"], canceledAs.state, errorLine(b.id, l.line, l.custom_id, canceledAs.code, canceledAs.message));
        else await settleLine(r.db, b.id, l.line, ["submitted"], out.state, out.result);
      }
      if (lines.length < 200) return;
      after = lines.at(-1)!.line;
    }
  }

  /**
   * Admit up to `submitChunk` pending lines, keeping at most `maxInFlight` unfinished. A line the
   * budget (or the prepaid credits) cannot hold pauses the batch instead of failing: the line
   * stays pending, and a round tries it again every `pauseRetryMs` (a refusal spends nothing), so
   * the batch resumes by itself once budget frees up. The reservation each line makes at admission is what keeps a
   * batch within the budget.
   */
  async function submit(b: BatchRow): Promise<void> {
    if (!mayTry(b)) return;
    if (b.endpoint === "/v1/embeddings") return embed(b);
    const inFlight = (await batchLines(r.db, b.id, "submitted", maxInFlight)).length;
    // The batch's own bound, then the throttle's allowance across all batches (it yields to interactive traffic).
    let room = Math.min(submitChunk, maxInFlight - inFlight);
    if (room <= 0) return;
    room = Math.min(room, await throttle.room());
    if (room <= 0) return;
    await eachPending(
      b,
      room,
      async (l) => {
        const jobId = await admitLine(r, b, l.custom_id!, l.request!, l.admissions);
        await markLineSubmitted(r.db, b.id, l.line, jobId);
        progressed = true;
      },
      undefined,
      admitConcurrency,
    );
  }

  /**
   * Run up to `submitChunk` pending `/v1/embeddings` lines inline through the embeddings service
   * (each settled at once: there is no job to collect), until half the lease has gone. Budget
   * refusals pause the batch, 429/503 leave the line for a later round, other refusals and provider
   * failures go to the error file with the endpoint's answer. A runner killed between a line's call
   * and its settlement leaves it pending, so it runs again (at least once, unlike job lines).
   */
  async function embed(b: BatchRow): Promise<void> {
    const ac = new AbortController();
    await eachPending(
      b,
      submitChunk,
      async (l) => void (await settleLine(r.db, b.id, l.line, ["pending"], "done", await embedLine(r, b, l, ac.signal))),
      () => Date.now() - claimedAt > leaseMs / 2,
    );
  }

  /**
   * Work up to `limit` pending lines in order with `work`, `concurrency` at a time (waves; one at a
   * time while the batch is paused, so a paused batch's try is one refusal). A line that goes
   * through ends a pause; 429/503 leave it (and the rest) for a later round; a budget or credits
   * refusal pauses the batch; another refusal settles the line failed with the endpoint's answer.
   * Lines of a wave already under way when one of them is refused are admitted or left as they
   * turn out (a refusal spends nothing). Stops early once the runner stops or `enough()` says so.
   */
  async function eachPending(
    b: BatchRow,
    limit: number,
    work: (l: BatchLineRow) => Promise<void>,
    enough: () => boolean = () => false,
    concurrency = 1,
  ): Promise<void> {
    let paused = b.paused_reason !== null;
    const pending = await batchLines(r.db, b.id, "pending", limit);
    for (let i = 0; i < pending.length;) {
      if (stopped || enough()) return;
      const wave = pending.slice(i, i + (paused ? 1 : concurrency));
      i += wave.length;
      const outcomes = await Promise.all(
        wave.map((l) =>
          work(l).then(
            () => null,
            (err: unknown) => ({ err }),
          ),
        ),
      );
      let unexpected: Error | null = null;
      for (const [k, o] of outcomes.entries()) {
        const l = wave[k]!;
        if (o === null) {
          if (paused) await resume(b);
          paused = false;
          continue;
        }
        const { err } = o;
        // Rate-limited or unavailable: the line stays pending for a later round.
        if (isTransient(err)) return;
        const reason = pauseReasonOf(err);
        if (reason) return pause(b, reason, l.line);
        if (!isApiError(err)) {
          unexpected ??= err instanceof Error ? err : new Error(String(err));
          continue;
        }
        await settleLine(r.db, b.id, l.line, ["pending"], "failed", refusedLine(b.id, l.line, l.custom_id!, err));
      }
      if (unexpected) throw unexpected;
    }
  }

  /**
   * Cancel (or expire) a batch: pending lines are settled unrun, unfinished jobs are canceled and
   * collected (a job that finished first keeps its answer), then the files are written.
   */
  async function wind(b: BatchRow, to: "cancelled" | "expired"): Promise<void> {
    const state = to === "cancelled" ? "canceled" : "expired";
    const [code, message] =
      to === "cancelled"
        ? ["batch_cancelled", "This request was not run: the batch was cancelled."]
        : ["batch_expired", "This request could not be executed before the completion window expired."];
    for (;;) {
      const pending = await batchLines(r.db, b.id, "pending", 500);
      for (const l of pending) await settleLine(r.db, b.id, l.line, ["pending"], state, errorLine(b.id, l.line, l.custom_id, code, message));
      if (pending.length < 500) break;
    }
    const p = batchPrincipal(b);
    for (const l of await batchLines(r.db, b.id, "submitted", maxInFlight)) {
      await cancelJob(r, p, l.job_id!).catch((err: unknown) => {
        if (!(isApiError(err) && (err.code === "job_already_terminal" || err.status === 404))) throw err;
      });
    }
    await collect(b, state === "expired" ? { state, code, message } : undefined);
    if ((await recountBatch(r.db, b.id)).open > 0) return; // jobs still settling: next round
    await finalize(b, b.status, to);
  }

  /** End the batch (see {@link finalizeBatch}); once it has ended, its endpoint is forgotten. */
  async function finalize(b: BatchRow, from: BatchRow["status"], to: "completed" | "cancelled" | "expired"): Promise<void> {
    if (await finalizeBatch(r, b, files, from, to)) endpointOf.delete(b.id);
  }

  const fileSweepMs = opts.fileSweepMs ?? 60_000;
  let sweptAt = 0;
  const loop = (async () => {
    while (!stopped) {
      progressed = false;
      await round().catch((err: Error) => r.logger.warn({ err: err.message }, "batch runner round failed"));
      // Housekeeping on the runner's periodic loop: expired files go (every gateway may run it; SKIP LOCKED splits the work).
      if (Date.now() - sweptAt >= fileSweepMs) {
        sweptAt = Date.now();
        await sweepExpiredFiles(r, files).catch((err: Error) => r.logger.warn({ err: err.message }, "expired-file sweep failed; tried again next time"));
      }
      if (stopped) break;
      // A round that moved lines is followed soon (a tenth of pollMs): a running batch is not held
      // to one chunk per poll; a batch that only waits on its jobs is looked at every pollMs.
      const waitMs = progressed ? Math.max(10, Math.floor(pollMs / 10)) : pollMs;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = null;
    }
  })();

  return {
    round,
    async close() {
      stopped = true;
      wake?.();
      await loop;
      if (!(opts.throttle instanceof BatchThrottle)) throttle.close();
    },
  };
}
