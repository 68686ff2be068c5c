/**
 * Reading the event streams, on the connection the caller passes: the notice stream (which jobs'
 * streams moved) and each job's events after a cursor. JobStore's reading methods call these.
 */
import { JobEvent } from "@switchyard/contracts";
import type { RedisKeys } from "./keys";
import type { Redis } from "./redis";

export interface StreamedEvent {
  id: string;
  event: JobEvent;
}

/** Stream entries as events; an entry that is not a valid event is skipped (a follower must not stall on one). */
function parseEntries(entries: [id: string, fields: string[]][]): StreamedEvent[] {
  const out: StreamedEvent[] = [];
  for (const [id, fields] of entries) {
    let json: unknown;
    try {
      json = JSON.parse(fields[1] ?? "");
    } catch {
      continue;
    }
    const parsed = JobEvent.safeParse(json);
    if (parsed.success) out.push({ id, event: parsed.data });
  }
  return out;
}

/**
 * The newest entry of the event notice stream ("0-0" when it is empty): where a reader that
 * starts now begins, on the connection it will read events on, so that no notice written after
 * this call is missed and no event written before it is unread.
 */
export async function latestNotice(conn: Redis, keys: RedisKeys): Promise<string> {
  const r = await conn.xrevrange(keys.eventNotices(), "+", "-", "COUNT", 1);
  return r[0]?.[0] ?? "0-0";
}

/** The oldest notice still kept ("0-0" when none): a reader behind it may have missed notices that were trimmed. */
export async function oldestNotice(conn: Redis, keys: RedisKeys): Promise<string> {
  const r = await conn.xrange(keys.eventNotices(), "-", "+", "COUNT", 1);
  return r[0]?.[0] ?? "0-0";
}

/**
 * Notices after `after` (blocking up to `blockMs` for the first): the ids of the jobs whose
 * event streams moved, each once, the newest notice id read, and how many notices were read.
 */
export async function readNotices(
  conn: Redis,
  keys: RedisKeys,
  after: string,
  opts: { blockMs: number; count: number },
): Promise<{ jobIds: Set<string>; last: string; read: number }> {
  const res = await conn.xread("COUNT", opts.count, "BLOCK", opts.blockMs, "STREAMS", keys.eventNotices(), after);
  const entries = res?.[0]?.[1] ?? [];
  const jobIds = new Set<string>();
  for (const [, fields] of entries) if (fields[1]) jobIds.add(fields[1]);
  return { jobIds, last: entries.at(-1)?.[0] ?? after, read: entries.length };
}

/**
 * Each job's events after its cursor (at most `count` per job), in one pipelined round trip.
 * A job whose read failed gets the error in its place. An entry that is not a valid event is
 * skipped; `last` is the id of the last entry read (valid or not), `read` how many there were.
 */
export async function readEventsAfter(
  conn: Redis,
  keys: RedisKeys,
  reads: ReadonlyArray<{ jobId: string; after: string }>,
  count: number,
): Promise<Array<{ events: StreamedEvent[]; last: string | null; read: number } | Error>> {
  const p = conn.pipeline();
  for (const r of reads) p.xrange(keys.events(r.jobId), `(${r.after}`, "+", "COUNT", count);
  const res = (await p.exec()) ?? [];
  return reads.map((_, i) => {
    const [err, entries] = res[i] ?? [new Error("no reply"), null];
    if (err) return err;
    const list = entries as [string, string[]][];
    return { events: parseEntries(list), last: list.at(-1)?.[0] ?? null, read: list.length };
  });
}
