import { ApiError, isTerminalStatus, QUEUE_NAMES, type JobStatus, type QueueName } from "@switchyard/contracts";
import { writeAudit } from "@switchyard/db";
import type { Job } from "bullmq";
import { Router } from "express";
import { z } from "zod";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { queueCounts } from "../services/ops-overview";
import { parseBody } from "../services/validation";

/** Default age past which a waiting or active job counts as stuck. */
const DEFAULT_OLDER_THAN_MS = 10 * 60_000;
/** Jobs examined per state by one clean-stuck call, by default. */
const DEFAULT_SCAN_LIMIT = 1000;
const PAGE = 200;
/** States a job can be stuck in: never picked up, or held by a worker that will not finish it. */
const STUCK_STATES = ["waiting", "prioritized", "delayed", "waiting-children", "active"] as const;

/** `older_than_ms`: age past which a job counts as stuck (default 10 min); `limit`: jobs examined per state (default 1000). */
const CleanStuck = z.strictObject({
  older_than_ms: z.number().int().min(0).max(30 * 24 * 3600 * 1000).optional(),
  limit: z.number().int().min(1).max(10_000).optional(),
});
const RetryFailed = z.strictObject({});

/** The queue named in the path, or a 404 that names it and lists the real ones. */
function queueNamed(raw: unknown): QueueName {
  const name = String(raw);
  const q = QUEUE_NAMES.find((n) => n === name);
  if (!q) throw new ApiError("not_found", `no queue ${name}; queues are ${QUEUE_NAMES.join(", ")}`, "queue");
  return q;
}

/** The Switchyard job id a queue job works for (`ai-route` and `ai-rag` payloads carry one). */
function switchyardJobId(job: Job): string | null {
  const data: unknown = job.data;
  if (typeof data === "object" && data !== null && "job_id" in data && typeof data.job_id === "string") return data.job_id;
  return null;
}

/** Each job's status: the live Redis hash first, Postgres (finished jobs) for those Redis no longer holds. */
async function statuses(r: GatewayResources, ids: string[]): Promise<Map<string, JobStatus>> {
  const out = new Map<string, JobStatus>();
  const live = await Promise.all(ids.map((id) => r.jobStore.get(id)));
  live.forEach((j, i) => j && out.set(ids[i]!, j.status));
  const missing = ids.filter((id) => !out.has(id));
  if (missing.length) {
    const rows = await r.db.selectFrom("jobs").select(["id", "status"]).where("id", "in", missing).execute();
    for (const row of rows) out.set(row.id, row.status as JobStatus);
  }
  return out;
}

/**
 * Remove queue jobs that wait (or sit active) past `olderThanMs` although the Switchyard job they
 * work for has already ended. Cancel and the stuck-job sweeper end the job and then remove its
 * queue job; when that second step is lost (the process died in between, Redis hiccuped, the job
 * was locked at the time) the queue job is left behind for a worker to pick up for nothing. BullMQ's
 * own stalled-job check already recovers active jobs whose worker died, so nothing else is
 * touched: a job whose Switchyard job is still live, or that carries none, stays. An active job
 * still locked by a live worker cannot be removed (BullMQ refuses) and is counted as `locked`; that
 * worker sees the terminal state itself. Age is from when the job was added, or for an active job
 * from when it was picked up.
 */
async function cleanStuck(r: GatewayResources, name: QueueName, olderThanMs: number, limit: number) {
  const queue = r.queues.get(name);
  const now = Date.now();
  const skipped = { too_recent: 0, no_switchyard_job: 0, unknown_job: 0, not_terminal: 0, locked: 0 };
  // Scan first, remove after: removing while paging would shift later jobs out of the next page.
  const candidates = new Map<string, string>();
  const seen = new Set<string>();
  for (const state of STUCK_STATES) {
    for (let start = 0; start < limit; start += PAGE) {
      const page = await queue.getJobs([state], start, Math.min(start + PAGE, limit) - 1, true);
      for (const job of page) {
        // A job can move between states during the scan and show up twice.
        if (!job?.id || seen.has(job.id)) continue;
        seen.add(job.id);
        const since = state === "active" ? (job.processedOn ?? job.timestamp) : job.timestamp;
        const id = switchyardJobId(job);
        if (now - since < olderThanMs) skipped.too_recent++;
        else if (id === null) skipped.no_switchyard_job++;
        else candidates.set(job.id, id);
      }
      if (page.length < PAGE) break;
    }
  }
  const status = await statuses(r, [...new Set(candidates.values())]);
  const removed: string[] = [];
  for (const [queueJobId, id] of candidates) {
    const s = status.get(id);
    if (s === undefined) skipped.unknown_job++;
    else if (!isTerminalStatus(s)) skipped.not_terminal++;
    else if ((await queue.remove(queueJobId)) === 1) removed.push(queueJobId);
    else skipped.locked++;
  }
  return { examined: seen.size, removed, skipped };
}

/** `/admin/v1/queues`: counts per queue and state; clean stuck jobs; retry failed ones. Mounted after the admin scope check; mutations are audited. */
export function adminQueuesRouter(r: GatewayResources): Router {
  const router = Router();

  router.get("/admin/v1/queues", async (_req, res) => {
    res.json({ object: "list", data: await Promise.all(QUEUE_NAMES.map((q) => queueCounts(r, q))) });
  });

  router.post("/admin/v1/queues/:queue/clean-stuck", async (req, res) => {
    const name = queueNamed(req.params.queue);
    const body = parseBody(CleanStuck, req.body ?? {});
    const olderThanMs = body.older_than_ms ?? DEFAULT_OLDER_THAN_MS;
    const before = await queueCounts(r, name);
    const result = await cleanStuck(r, name, olderThanMs, body.limit ?? DEFAULT_SCAN_LIMIT);
    const after = await queueCounts(r, name);
    const view = { object: "queue_clean", queue: name, older_than_ms: olderThanMs, examined: result.examined, removed: result.removed.length, removed_job_ids: result.removed, skipped: result.skipped };
    await writeAudit(r.db, { keyId: principalOf(req).keyId }, { tenant_id: null, action: "queue.clean_stuck", target_type: "queue", target_id: name, before: before.counts, after: { ...after.counts, older_than_ms: olderThanMs, removed: result.removed.length, removed_job_ids: result.removed } });
    res.json(view);
  });

  router.post("/admin/v1/queues/:queue/retry-failed", async (req, res) => {
    const name = queueNamed(req.params.queue);
    parseBody(RetryFailed, req.body ?? {});
    const queue = r.queues.get(name);
    const before = await queueCounts(r, name);
    // retryJobs moves every failed job finished at or before `timestamp`; counting the same range
    // first gives how many it moved (a job failing meanwhile is after `timestamp` and stays).
    const timestamp = Date.now();
    const retried = await r.redis.zcount(queue.toKey("failed"), "-inf", String(timestamp));
    await queue.retryJobs({ state: "failed", timestamp });
    const after = await queueCounts(r, name);
    await writeAudit(r.db, { keyId: principalOf(req).keyId }, { tenant_id: null, action: "queue.retry_failed", target_type: "queue", target_id: name, before: before.counts, after: { ...after.counts, retried } });
    res.json({ object: "queue_retry", queue: name, retried, counts: after.counts });
  });

  return router;
}
