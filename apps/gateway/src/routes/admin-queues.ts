import { ApiError, CleanStuckRequest, EmptyBody, isTerminalStatus, QUEUE_NAMES, type JobStatus, type QueueClean, type QueueName } from "@switchyard/contracts";
import { writeAudit } from "@switchyard/db";
import type { Job } from "bullmq";
import { Router } from "express";
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
  const queue = r.queues.queue(name);
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

/** Queues whose jobs work for a Switchyard job (their payload's `job_id`). */
const JOB_QUEUES: ReadonlySet<QueueName> = new Set(["ai-route", "ai-rag"]);

/**
 * Move failed jobs finished at or before `timestamp` back to waiting (a job failing meanwhile is
 * after it and stays). A queue job whose Switchyard job has ended (a route job that failed as its
 * job failed, or one whose job Redis and Postgres no longer know) stays failed and is counted in
 * `skippedTerminal`: running it again could do nothing but bill twice. Other queues are retried
 * in one BullMQ call, counting the same range first.
 */
async function retryFailed(r: GatewayResources, name: QueueName, timestamp: number): Promise<{ retried: number; skippedTerminal: number }> {
  const queue = r.queues.queue(name);
  if (!JOB_QUEUES.has(name)) {
    const retried = await r.redis.zcount(r.keys.bullQueue(name, "failed"), "-inf", String(timestamp));
    await queue.retryJobs({ state: "failed", timestamp });
    return { retried, skippedTerminal: 0 };
  }
  let retried = 0;
  let skippedTerminal = 0;
  // Retried jobs leave the failed set and skipped ones stay: page past the skipped ones only.
  for (let offset = 0; ;) {
    const ids = await r.redis.zrangebyscore(r.keys.bullQueue(name, "failed"), "-inf", String(timestamp), "LIMIT", offset, PAGE);
    const jobs = await Promise.all(ids.map((id) => queue.getJob(id)));
    const status = await statuses(r, [...new Set(jobs.flatMap((j) => (j ? [switchyardJobId(j)] : [])).filter((id): id is string => id !== null))]);
    for (const job of jobs) {
      const id = job ? switchyardJobId(job) : null;
      const s = id === null ? undefined : status.get(id);
      if (job && id !== null && (s === undefined || isTerminalStatus(s))) {
        skippedTerminal++;
        offset++;
        continue;
      }
      // A job gone meanwhile, or moved out of failed by someone else, is left where it is.
      const moved = job
        ? await job.retry("failed").then(
            () => true,
            () => false,
          )
        : false;
      if (moved) retried++;
      else offset++;
    }
    if (ids.length < PAGE) break;
  }
  return { retried, skippedTerminal };
}

/** `/admin/v1/queues`: counts per queue and state; clean stuck jobs; retry failed ones. Mounted after the admin scope check; mutations are audited. */
export function adminQueuesRouter(r: GatewayResources): Router {
  const router = Router();

  router.get("/admin/v1/queues", async (_req, res) => {
    res.json({ object: "list", data: await Promise.all(QUEUE_NAMES.map((q) => queueCounts(r, q))) });
  });

  router.post("/admin/v1/queues/:queue/clean-stuck", async (req, res) => {
    const name = queueNamed(req.params.queue);
    const body = parseBody(CleanStuckRequest, req.body ?? {});
    const olderThanMs = body.older_than_ms ?? DEFAULT_OLDER_THAN_MS;
    const before = await queueCounts(r, name);
    const result = await cleanStuck(r, name, olderThanMs, body.limit ?? DEFAULT_SCAN_LIMIT);
    const after = await queueCounts(r, name);
    const view: QueueClean = {
      object: "queue_clean",
      queue: name,
      older_than_ms: olderThanMs,
      examined: result.examined,
      removed: result.removed.length,
      removed_job_ids: result.removed,
      skipped: result.skipped,
    };
    await writeAudit(
      r.db,
      { keyId: principalOf(req).keyId },
      {
        tenant_id: null,
        action: "queue.clean_stuck",
        target_type: "queue",
        target_id: name,
        before: before.counts,
        after: { ...after.counts, older_than_ms: olderThanMs, removed: result.removed.length, removed_job_ids: result.removed },
      },
    );
    res.json(view);
  });

  router.post("/admin/v1/queues/:queue/retry-failed", async (req, res) => {
    const name = queueNamed(req.params.queue);
    parseBody(EmptyBody, req.body ?? {});
    const before = await queueCounts(r, name);
    const { retried, skippedTerminal } = await retryFailed(r, name, Date.now());
    const after = await queueCounts(r, name);
    await writeAudit(
      r.db,
      { keyId: principalOf(req).keyId },
      {
        tenant_id: null,
        action: "queue.retry_failed",
        target_type: "queue",
        target_id: name,
        before: before.counts,
        after: { ...after.counts, retried, skipped_terminal: skippedTerminal },
      },
    );
    res.json({ object: "queue_retry", queue: name, retried, skipped_terminal: skippedTerminal, counts: after.counts });
  });

  return router;
}
