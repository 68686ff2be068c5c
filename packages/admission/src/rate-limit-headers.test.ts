import { mostConstrainedWindow, rateLimitHeaders, type RateLimitWindowState } from "./rate-limit-headers";

const w = (limit: number, windowSeconds: number, remaining: number, resetSeconds: number): RateLimitWindowState => ({
  limit,
  windowSeconds,
  remaining,
  resetSeconds,
});

describe("rateLimitHeaders", () => {
  it("lists every window in the policy and describes the most constrained one", () => {
    const headers = rateLimitHeaders([w(60, 60, 12, 30), w(1000, 3600, 400, 3000), w(10_000, 86_400, 9000, 80_000), w(50, 10, 40, 2)]);
    expect(headers).toEqual({
      "RateLimit-Policy": "60;w=60, 1000;w=3600, 10000;w=86400, 50;w=10",
      RateLimit: "limit=60, remaining=12, reset=30",
    });
  });

  it("picks the smallest remaining even when it is a longer window", () => {
    const headers = rateLimitHeaders([w(10, 60, 9, 60), w(3, 3600, 2, 3600), w(1000, 86_400, 999, 86_400)]);
    expect(headers["RateLimit"]).toBe("limit=3, remaining=2, reset=3600");
  });

  it("breaks a tie on remaining by the longer reset", () => {
    expect(mostConstrainedWindow([w(5, 60, 0, 40), w(5, 3600, 0, 1800), w(9, 10, 0, 5)])).toEqual(w(5, 3600, 0, 1800));
  });

  it("adds Retry-After in whole seconds on a rejection", () => {
    const headers = rateLimitHeaders([w(10, 60, 0, 17)], 17);
    expect(headers).toEqual({ "RateLimit-Policy": "10;w=60", RateLimit: "limit=10, remaining=0, reset=17", "Retry-After": "17" });
    expect(rateLimitHeaders([w(10, 60, 0, 1)], 0.2)["Retry-After"]).toBeUndefined();
    expect(rateLimitHeaders([w(10, 60, 0, 2)], 1.2)["Retry-After"]).toBe("2");
  });

  it("omits Retry-After when waiting cannot help (retry 0), and never reports negative numbers", () => {
    const headers = rateLimitHeaders([w(10, 60, -3, -1)], 0);
    expect(headers).toEqual({ "RateLimit-Policy": "10;w=60", RateLimit: "limit=10, remaining=0, reset=0" });
  });

  it("sets nothing without windows", () => {
    expect(rateLimitHeaders([])).toEqual({});
    expect(mostConstrainedWindow([])).toBeUndefined();
  });
});
