const DAY_MS = 86_400_000;

/**
 * A calendar day that follows the real clock, for tests that fix a time of day. Redis expires
 * budget periods (`PEXPIREAT`) on its own clock, so a test's "now" must lie in a period that has
 * not ended yet: the day after today (UTC) always qualifies, whatever the date the suite runs on.
 */
export interface TestDay {
  /** `YYYY-MM-DD` of the day. */
  readonly date: string;
  /** `YYYY-MM` of the day's month. */
  readonly month: string;
  /** The instant `hh:mm` UTC on the day `offsetDays` after this one. */
  at(time: string, offsetDays?: number): Date;
  /** `YYYY-MM-DD` of the day `offsetDays` after this one. */
  plus(offsetDays: number): string;
}

/** Tomorrow (UTC) by the real clock; see {@link TestDay}. */
export function tomorrowUtc(now = Date.now()): TestDay {
  const start = (Math.floor(now / DAY_MS) + 1) * DAY_MS;
  const date = new Date(start).toISOString().slice(0, 10);
  return {
    date,
    month: date.slice(0, 7),
    at: (time, offsetDays = 0) => new Date(`${new Date(start + offsetDays * DAY_MS).toISOString().slice(0, 10)}T${time}:00Z`),
    plus: (offsetDays) => new Date(start + offsetDays * DAY_MS).toISOString().slice(0, 10),
  };
}
