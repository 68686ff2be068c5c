/**
 * Why a ledger write failed, as far as retrying goes.
 * - `data`: the events themselves are refused, and would be on every retry: Postgres SQLSTATE
 *   class 22 (data exception: a `\u0000` in text or jsonb, a number past its column, a malformed
 *   timestamp), 23 (integrity: a check or foreign key the event breaks) or 54 (program limit: a key
 *   too long to index); or a `RangeError` from our own checks (an amount past numeric(18,9), an
 *   invalid date).
 * - `transient`: everything else — connection refused or lost, Postgres shutting down or starting
 *   (57P01, 57P03), serialization failures and deadlocks (40001, 40P01), timeouts, too many
 *   connections. The same write can succeed later, so it is retried and never dead-lettered.
 *   Unknown errors count as transient on purpose: a bug retried is a delay, a good event
 *   dead-lettered is an ops task.
 */
export type WriteErrorClass = { kind: "data" | "transient"; sqlstate: string | null; message: string };

/** SQLSTATE classes that blame the data, not the moment. */
const DATA_CLASSES = new Set(["22", "23", "54"]);

interface MaybePgError {
  name?: unknown;
  code?: unknown;
  severity?: unknown;
  message?: unknown;
}

/** The SQLSTATE of a Postgres error (`pg`'s DatabaseError carries `severity` too; node's socket errors carry a `code` like `EPIPE` but no severity). */
export function sqlstateOf(err: unknown): string | null {
  const e = (typeof err === "object" && err !== null ? err : {}) as MaybePgError;
  return typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code) && typeof e.severity === "string" ? e.code : null;
}

export function classifyWriteError(err: unknown): WriteErrorClass {
  const e = (typeof err === "object" && err !== null ? err : {}) as MaybePgError;
  const message = typeof e.message === "string" ? e.message : String(err);
  const sqlstate = sqlstateOf(err);
  if (sqlstate !== null) return { kind: DATA_CLASSES.has(sqlstate.slice(0, 2)) ? "data" : "transient", sqlstate, message };
  return { kind: e.name === "RangeError" ? "data" : "transient", sqlstate: null, message };
}
