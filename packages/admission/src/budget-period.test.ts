import { periodKey } from "./budget-period";

const H = 3_600_000;
const iso = (d: Date) => d.toISOString();

describe("periodKey", () => {
  it("UTC day: key, start and end are plain midnights", () => {
    const w = periodKey("day", "UTC", new Date("2026-11-23T15:04:05Z"));
    expect(w.key).toBe("d:2026-11-23");
    expect(iso(w.start)).toBe("2026-11-23T00:00:00.000Z");
    expect(iso(w.end)).toBe("2026-11-24T00:00:00.000Z");
  });

  it("a zone east of UTC is already on the next local day", () => {
    // 20:00 UTC on the 22nd is 05:00 on the 23rd in Tokyo (UTC+9).
    const w = periodKey("day", "Asia/Tokyo", new Date("2026-11-22T20:00:00Z"));
    expect(w.key).toBe("d:2026-11-23");
    expect(iso(w.start)).toBe("2026-11-22T15:00:00.000Z");
    expect(iso(w.end)).toBe("2026-11-23T15:00:00.000Z");
  });

  it("a zone west of UTC is still on the previous local day, and month", () => {
    // 03:00 UTC on 1 Dec is 19:00 on 30 Nov in Los Angeles (UTC-8).
    const at = new Date("2026-12-01T03:00:00Z");
    expect(periodKey("day", "America/Los_Angeles", at).key).toBe("d:2026-11-30");
    const m = periodKey("month", "America/Los_Angeles", at);
    expect(m.key).toBe("m:2026-11");
    expect(iso(m.start)).toBe("2026-11-01T07:00:00.000Z"); // still PDT (UTC-7) on 1 Nov
    expect(iso(m.end)).toBe("2026-12-01T08:00:00.000Z"); // PST (UTC-8)
  });

  it("the spring-forward day lasts 23 hours (Europe/Berlin)", () => {
    const w = periodKey("day", "Europe/Berlin", new Date("2026-03-29T12:00:00Z"));
    expect(w.key).toBe("d:2026-03-29");
    expect(iso(w.start)).toBe("2026-03-28T23:00:00.000Z"); // CET midnight
    expect(iso(w.end)).toBe("2026-03-29T22:00:00.000Z"); // CEST midnight
    expect(w.end.getTime() - w.start.getTime()).toBe(23 * H);
  });

  it("the fall-back day lasts 25 hours (America/New_York)", () => {
    const w = periodKey("day", "America/New_York", new Date("2026-11-01T06:30:00Z")); // 01:30 EST, the second time round
    expect(w.key).toBe("d:2026-11-01");
    expect(iso(w.start)).toBe("2026-11-01T04:00:00.000Z");
    expect(iso(w.end)).toBe("2026-11-02T05:00:00.000Z");
    expect(w.end.getTime() - w.start.getTime()).toBe(25 * H);
  });

  it("a day whose midnight is skipped by DST starts at 01:00 local (America/Santiago)", () => {
    // Chile springs forward at 24:00 → 01:00 on the first Sunday of September 2024.
    const w = periodKey("day", "America/Santiago", new Date("2024-09-08T12:00:00Z"));
    expect(w.key).toBe("d:2024-09-08");
    expect(iso(w.start)).toBe("2024-09-08T04:00:00.000Z"); // 01:00 -03
    expect(iso(w.end)).toBe("2024-09-09T03:00:00.000Z"); // 00:00 -03
    expect(w.end.getTime() - w.start.getTime()).toBe(23 * H);
  });

  it("the instant of local midnight belongs to the new day; one ms before, to the old", () => {
    const start = periodKey("day", "Asia/Kolkata", new Date("2026-06-15T12:00:00Z")).start; // UTC+5:30
    expect(iso(start)).toBe("2026-06-14T18:30:00.000Z");
    expect(periodKey("day", "Asia/Kolkata", start).key).toBe("d:2026-06-15");
    expect(periodKey("day", "Asia/Kolkata", new Date(start.getTime() - 1)).key).toBe("d:2026-06-14");
  });

  it("months roll over the year end, in a zone 14 hours ahead", () => {
    const w = periodKey("month", "Pacific/Kiritimati", new Date("2026-12-31T10:00:00Z")); // 1 Jan 00:00 local
    expect(w.key).toBe("m:2027-01");
    expect(iso(w.start)).toBe("2026-12-31T10:00:00.000Z");
    expect(iso(w.end)).toBe("2027-01-31T10:00:00.000Z");
  });

  it("February in a leap year ends on the 29th", () => {
    const w = periodKey("month", "UTC", new Date("2028-02-10T00:00:00Z"));
    expect(w.key).toBe("m:2028-02");
    expect(iso(w.end)).toBe("2028-03-01T00:00:00.000Z");
  });

  it("rejects an unknown time zone and an invalid date", () => {
    expect(() => periodKey("day", "Mars/Olympus_Mons", new Date())).toThrow(RangeError);
    expect(() => periodKey("day", "UTC", new Date("nope"))).toThrow(RangeError);
  });
});
