import { z } from "zod";

const DAY_MS = 86_400_000;

/** Longest range a dated query (`from`..`to`, inclusive) answers, in days: a leap year. */
export const MAX_USAGE_RANGE_DAYS = 366;

/** True for a real calendar day written `YYYY-MM-DD` (so `2026-02-30` is false). */
export function isIsoDay(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00.000Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** Whole days from `from` to `to` (0 when equal, negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00.000Z`) - Date.parse(`${from}T00:00:00.000Z`)) / DAY_MS);
}

/** A calendar day `YYYY-MM-DD` (UTC), as every dated query takes it. */
export const Day = z.string().refine(isIsoDay, "must be a calendar day YYYY-MM-DD");

/** A query's `from`..`to` (inclusive UTC days): not reversed, at most {@link MAX_USAGE_RANGE_DAYS}. */
export function checkDayRange(q: { from: string; to: string }, ctx: z.RefinementCtx): void {
  const days = daysBetween(q.from, q.to) + 1;
  if (days < 1) ctx.addIssue({ code: "custom", path: ["from"], message: `must not be after to (${q.to})` });
  else if (days > MAX_USAGE_RANGE_DAYS)
    ctx.addIssue({ code: "custom", path: ["to"], message: `the range spans ${days} days; at most ${MAX_USAGE_RANGE_DAYS}` });
}
