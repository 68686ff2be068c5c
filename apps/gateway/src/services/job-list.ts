import { ApiError, type JobList, type JobView, type ListJobsQuery } from "@switchyard/contracts";
import { listStoredJobs, storedJobIds } from "@switchyard/db";
import { TenantJobIndex, type StoredJob } from "@switchyard/queue";
import type { Principal } from "@switchyard/contracts";
import type { GatewayResources } from "../resources";

/**
 * Index entries one page may examine in Redis before it answers with what it has (`has_more`, and
 * a cursor that resumes where it stopped): a filter that matches nothing among a day of live jobs
 * costs a bounded read per page, not a scan of the day.
 */
export const JOB_LIST_SCAN_BUDGET = 2_000;

/** A position in (created_at, id) order, newest first: the page goes on below it. */
interface Position {
  ms: number;
  id: string;
}

/** Above every job id at the same ms (ids are `job_` and lowercase letters and digits). */
const ABOVE_IDS = "~";
/** The latest time a Date holds (and Postgres too): above every job. */
const END_OF_TIME_MS = 8.64e15;

const newerThan = (a: Position, b: Position) => a.ms > b.ms || (a.ms === b.ms && a.id > b.id);
const positionOf = (v: JobView): Position => ({ ms: Date.parse(v.created_at), id: v.id });

/** `next_cursor`: the position, and the index bucket the Redis walk had reached (a hint; the position decides). */
function encodeCursor(p: Position, bucket: number | null): string {
  return Buffer.from(JSON.stringify(bucket === null ? [p.ms, p.id] : [p.ms, p.id, bucket])).toString("base64url");
}

function decodeCursor(cursor: string): { at: Position; bucket: number | null } {
  try {
    const a: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (
      Array.isArray(a) &&
      Number.isSafeInteger(a[0]) &&
      a[0] >= 0 &&
      a[0] <= END_OF_TIME_MS &&
      typeof a[1] === "string" &&
      a[1].length <= 64 &&
      (a[2] === undefined || (Number.isSafeInteger(a[2]) && a[2] >= 1))
    ) {
      return { at: { ms: a[0] as number, id: a[1] }, bucket: (a[2] as number | undefined) ?? null };
    }
  } catch {
    // not JSON: answered below
  }
  throw new ApiError("invalid_request", "cursor: must be next_cursor from an earlier page", "cursor");
}

/**
 * `GET /v1/jobs`: the tenant's jobs newest first, by (created_at, id). Live jobs (and ended ones
 * not yet stored) come from Redis through the tenant's job index, with their status read from
 * their hashes; finished jobs from Postgres, which is the truth for a job once it holds it (a job
 * in both is taken from Postgres, and only if it matches there). A publishable key sees only the
 * jobs it created.
 *
 * Both sources are read down to where the page is known complete: Postgres gives its newest
 * `limit + 1` matches; the Redis walk goes on until the merged list holds `limit + 1` jobs above
 * the point it has read to, or the index ends, or {@link JOB_LIST_SCAN_BUDGET} entries were
 * examined (then the page holds what is certain and `next_cursor` resumes at the walk's point).
 */
export async function listJobs(r: GatewayResources, p: Principal, q: ListJobsQuery): Promise<JobList> {
  const cursor = q.cursor ? decodeCursor(q.cursor) : null;
  const untilMs = q.until ? q.until.getTime() : null;
  // Strictly below this position: the cursor's, or just below `until` (exclusive).
  let top: Position | null = cursor?.at ?? (untilMs !== null ? { ms: untilMs - 1, id: ABOVE_IDS } : null);
  if (cursor && untilMs !== null && cursor.at.ms >= untilMs) top = { ms: untilMs - 1, id: ABOVE_IDS };
  const sinceMs = q.since ? q.since.getTime() : null;
  const want = q.limit + 1;
  const apiKeyId = p.publishable ? p.keyId : undefined;
  const matches = (v: JobView) => (!q.status || v.status === q.status) && (!q.model || v.model === q.model || v.served_model === q.model);

  const stored = await listStoredJobs(r.db, {
    tenantId: p.tenantId,
    apiKeyId,
    status: q.status,
    model: q.model,
    since: q.since,
    until: q.until,
    before: top ? { createdAt: new Date(top.ms), id: top.id } : undefined,
    limit: want,
  });
  // Postgres is complete down to its last row when it filled the page, else all the way.
  const storedFloor: Position | null = stored.length === want ? positionOf(stored.at(-1)!) : null;

  const index = new TenantJobIndex(r.redis, r.keys);
  const live = new Map<string, JobView>();
  // Every index entry read (below the top), with its bucket: where the next page's walk may begin.
  const read: Array<Position & { bucket: number }> = [];
  const seen = new Set<string>();
  let next = cursor ? cursor.bucket : null;
  // Redis is read completely above this position (null: to the end). Nothing yet.
  let redisFloor: Position | null = top ?? { ms: END_OF_TIME_MS, id: ABOVE_IDS };
  let examined = 0;
  for (let round = 0; ; round++) {
    // A cursor's bucket hint is taken one bucket higher: a gateway whose clock runs behind can stamp a job older than its bucket's neighbours.
    const got = await index.read(p.tenantId, {
      fromBucket: round === 0 && next !== null ? next + 1 : next,
      maxMs: top?.ms ?? null,
      minMs: sinceMs,
      want: Math.max(want, 50),
    });
    examined += got.entries.length;
    const fresh = got.entries.filter((e) => !seen.has(e.id) && (!top || newerThan(top, { ms: e.createdMs, id: e.id })));
    for (const e of fresh) {
      seen.add(e.id);
      read.push({ ms: e.createdMs, id: e.id, bucket: e.bucket });
    }
    // The floor: the newest entry of the bucket the walk stopped at (the lookahead, read again next
    // round): older buckets hold older jobs, give or take the gateways' clock skew within a bucket.
    next = got.next;
    redisFloor = next === null ? null : (newest(got.entries.filter((e) => e.bucket === next).map((e) => ({ ms: e.createdMs, id: e.id }))) ?? redisFloor);
    const [jobs, inPostgres] = await Promise.all([
      Promise.all(fresh.map((e) => r.jobStore.get(e.id))),
      storedJobIds(
        r.db,
        p.tenantId,
        fresh.map((e) => e.id),
      ),
    ]);
    for (const j of jobs) if (j && visible(j, p) && !inPostgres.has(j.view.id) && matches(j.view)) live.set(j.view.id, j.view);

    // Certain: above Redis's floor, and no older than Postgres's last row when it filled its page.
    const floor = redisFloor;
    const certain = merged(stored, live).filter((v) => (!floor || newerThan(positionOf(v), floor)) && (!storedFloor || !newerThan(storedFloor, positionOf(v))));
    if (certain.length >= want || floor === null) {
      const data = certain.slice(0, q.limit);
      const hasMore = certain.length > q.limit;
      return { object: "list", data, has_more: hasMore, next_cursor: hasMore ? cursorAt(positionOf(data.at(-1)!), read, next) : null };
    }
    if (examined >= JOB_LIST_SCAN_BUDGET) {
      // Out of budget: what is certain, and a cursor that resumes where the walk stopped.
      return { object: "list", data: certain, has_more: true, next_cursor: cursorAt(certain.length > 0 ? positionOf(certain.at(-1)!) : floor, read, next) };
    }
  }
}

/**
 * The cursor of a page ending at `at`: with the highest bucket that can hold an entry below it
 * (the highest bucket of an entry read below it, else the bucket the walk stopped at).
 */
function cursorAt(at: Position, read: ReadonlyArray<Position & { bucket: number }>, next: number | null): string {
  let bucket = next;
  for (const e of read) if (newerThan(at, e) && (bucket === null || e.bucket > bucket)) bucket = e.bucket;
  return encodeCursor(at, bucket);
}

/** Stored and live jobs as one list, newest first (no id is in both: live ones held in Postgres were dropped). */
function merged(stored: JobView[], live: Map<string, JobView>): JobView[] {
  return [...stored, ...live.values()].sort((a, b) => (newerThan(positionOf(a), positionOf(b)) ? -1 : 1));
}

function visible(j: StoredJob, p: Principal): boolean {
  return j.tenantId === p.tenantId && (!p.publishable || j.apiKeyId === p.keyId);
}

function newest(ps: Position[]): Position | null {
  let top: Position | null = null;
  for (const x of ps) if (!top || newerThan(x, top)) top = x;
  return top;
}
