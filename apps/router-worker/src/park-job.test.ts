import { ProviderError } from "@switchyard/providers";
import { breakersOpen, parkDelayMs, WaitCause } from "./park-job";

const mid = () => 0.5;

describe("WaitCause", () => {
  test("an upstream 429 names the wait rate_limited_upstream and holds for its Retry-After, whatever the breakers", () => {
    const c = new WaitCause();
    c.failed("a", new ProviderError("rate_limited", "429", { status: 429, retryAfterMs: 3000 }), "open");
    c.refused("b", { allowed: false, state: "open", probe: false, retryInMs: 500 });
    expect(c.why(["a", "b"])).toEqual({ reason: "rate_limited_upstream", holdMs: 3000 });
  });

  test("every model of the chain behind an open breaker is breaker_open, held until the first half-opens (at most 8 s)", () => {
    const c = new WaitCause();
    c.refused("a", { allowed: false, state: "open", probe: false, retryInMs: 4000 });
    c.failed("b", new ProviderError("server_error", "500", { status: 500 }), "open");
    expect(c.why(["a", "b"])).toEqual({ reason: "breaker_open", holdMs: 4000 });
    const far = new WaitCause();
    far.refused("a", { allowed: false, state: "open", probe: false, retryInMs: 60_000 });
    expect(far.why(["a"])).toEqual({ reason: "breaker_open", holdMs: 8000 });
  });

  test("a 5xx whose breaker is still closed is capacity, with no hold of its own", () => {
    const c = new WaitCause();
    c.refused("a", { allowed: false, state: "open", probe: false, retryInMs: 1000 });
    c.failed("b", new ProviderError("server_error", "503", { status: 503 }), "closed");
    expect(c.why(["a", "b"])).toEqual({ reason: "capacity", holdMs: 0 });
  });
});

test("breakersOpen waits for the earliest open period to end, at most 8 s", () => {
  expect(
    breakersOpen(
      { a: { state: "open", open_until: 10_000, failures: 0, successes: 0 }, b: { state: "open", open_until: 6000, failures: 0, successes: 0 } },
      1000,
    ),
  ).toEqual({ reason: "breaker_open", holdMs: 5000 });
  expect(breakersOpen({ a: { state: "open", open_until: 100_000, failures: 0, successes: 0 } }, 0).holdMs).toBe(8000);
  expect(breakersOpen({ a: { state: "half_open", failures: 0, successes: 0 } }, 0).holdMs).toBe(0);
});

describe("parkDelayMs", () => {
  test("backs off 1 s doubling to 8 s (with jitter around it)", () => {
    expect([1, 2, 3, 4, 9].map((n) => parkDelayMs(n, 0, 1e9, mid))).toEqual([1000, 2000, 4000, 8000, 8000]);
    expect(parkDelayMs(1, 0, 1e9, () => 0)).toBe(750);
    expect(parkDelayMs(1, 0, 1e9, () => 1)).toBe(1250);
  });

  test("holds longer when the upstream asked (never shorter than the backoff), a Retry-After at most a minute", () => {
    expect(parkDelayMs(1, 5000, 1e9, () => 0)).toBe(5000);
    expect(parkDelayMs(4, 1000, 1e9, () => 0)).toBe(6000);
    expect(parkDelayMs(1, 600_000, 1e9, () => 0)).toBe(60_000);
  });

  test("never parks much past the job's last chance to run", () => {
    expect(parkDelayMs(4, 30_000, 2000, mid)).toBe(2050);
    expect(parkDelayMs(4, 0, -5000, mid)).toBe(250);
  });
});
