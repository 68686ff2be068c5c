/** A budget period as a tenant sees it: a local calendar day or month in its IANA time zone. */
export type BudgetPeriod = "day" | "month";

/** One concrete period: a stable key and the real instants it covers, `[start, end)`. */
export interface PeriodWindow {
  /** `d:YYYY-MM-DD` for a day, `m:YYYY-MM` for a month (local calendar of the time zone). */
  key: string;
  /** The instant of local midnight that opens the period. */
  start: Date;
  /** The instant of local midnight that opens the next period (exclusive). */
  end: Date;
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

// Constructing a DateTimeFormat costs far more than using one; admission asks this on every request.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    // Throws RangeError for an unknown zone, which is what a caller with a bad zone deserves.
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(timezone, f);
  }
  return f;
}

function localParts(timezone: string, ms: number): LocalParts {
  const out: LocalParts = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const p of formatter(timezone).formatToParts(new Date(ms))) {
    if (p.type in out) out[p.type as keyof LocalParts] = Number(p.value);
  }
  // Some engines still render midnight as 24 with h23; treat it as 0.
  if (out.hour === 24) out.hour = 0;
  return out;
}

/** Local wall-clock minus UTC at `ms`, in ms (e.g. +3 600 000 for Europe/Berlin in winter). */
function offsetAt(timezone: string, ms: number): number {
  const p = localParts(timezone, ms);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - Math.floor(ms / 1000) * 1000;
}

/** Local calendar date as a sortable number YYYYMMDD. */
function localDateNum(timezone: string, ms: number): number {
  const p = localParts(timezone, ms);
  return p.year * 10_000 + p.month * 100 + p.day;
}

/**
 * The first instant whose local date is `y-m-d` or later: local midnight, or — in a zone whose
 * DST jump skips midnight — the instant the day actually begins.
 */
function startOfLocalDay(timezone: string, y: number, m: number, d: number): number {
  const wall = Date.UTC(y, m - 1, d);
  const target = y * 10_000 + m * 100 + d;
  // Two rounds of "subtract the offset" land on local midnight unless midnight falls in a gap.
  let t = wall - offsetAt(timezone, wall);
  t = wall - offsetAt(timezone, t);
  if (localDateNum(timezone, t) === target && localDateNum(timezone, t - 1) < target) return t;
  // Rare: midnight skipped or repeated. Search for the boundary; offsets never exceed ±18 h.
  let lo = wall - 18 * 3_600_000;
  let hi = wall + 18 * 3_600_000;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (localDateNum(timezone, mid) >= target) hi = mid;
    else lo = mid;
  }
  return hi;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/**
 * The budget period containing `at`, computed in the tenant's IANA `timezone`. `start`/`end` are
 * the real instants of local midnight, so a day with a DST change lasts 23 or 25 hours.
 * Throws RangeError for an unknown time zone.
 */
export function periodKey(period: BudgetPeriod, timezone: string, at: Date): PeriodWindow {
  const ms = at.getTime();
  if (!Number.isFinite(ms)) throw new RangeError("periodKey: invalid date");
  const p = localParts(timezone, ms);
  if (period === "day") {
    // Date.UTC normalises day + 1 across month and year ends.
    const next = new Date(Date.UTC(p.year, p.month - 1, p.day + 1));
    return {
      key: `d:${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}`,
      start: new Date(startOfLocalDay(timezone, p.year, p.month, p.day)),
      end: new Date(startOfLocalDay(timezone, next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate())),
    };
  }
  const nextMonth = new Date(Date.UTC(p.year, p.month, 1));
  return {
    key: `m:${pad(p.year, 4)}-${pad(p.month)}`,
    start: new Date(startOfLocalDay(timezone, p.year, p.month, 1)),
    end: new Date(startOfLocalDay(timezone, nextMonth.getUTCFullYear(), nextMonth.getUTCMonth() + 1, 1)),
  };
}
