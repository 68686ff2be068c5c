import { cleanupPrefix, testPrefix, TEST_REDIS_URL } from "@switchyard/testkit";
import { Redis } from "ioredis";
import { setTimeout as sleep } from "node:timers/promises";
import { CircuitBreakers, type CircuitBreakersOptions } from "./circuit-breaker";

const prefix = testPrefix("cb");
const connections: Redis[] = [];

function breakers(opts: Partial<CircuitBreakersOptions> = {}): CircuitBreakers {
  const redis = new Redis(TEST_REDIS_URL);
  connections.push(redis);
  return new CircuitBreakers({ redis, prefix, windowMs: 2_000, minVolume: 10, errorRateThreshold: 0.5, openMs: 200, halfOpenProbeTimeoutMs: 300, ...opts });
}

async function recordMany(cb: CircuitBreakers, model: string, outcome: "success" | "failure", n: number): Promise<void> {
  for (let i = 0; i < n; i++) await cb.record(model, outcome);
}

async function trip(cb: CircuitBreakers, model: string): Promise<void> {
  await recordMany(cb, model, "failure", 10);
  expect((await cb.state(model)).state).toBe("open");
}

afterAll(async () => {
  for (const r of connections) r.disconnect();
  await cleanupPrefix(prefix);
});

describe("CircuitBreakers (real Redis)", () => {
  it("stays closed below the minimum volume, opens when it is reached", async () => {
    const cb = breakers();
    await recordMany(cb, "vol", "failure", 9);
    expect(await cb.state("vol")).toEqual({ state: "closed", failures: 9, successes: 0 });
    expect(await cb.acquire("vol")).toEqual({ allowed: true, state: "closed", probe: false });
    expect(await cb.record("vol", "failure")).toEqual({ state: "open", changed: true });
    const snap = await cb.state("vol");
    expect(snap.state).toBe("open");
    expect(snap.open_until! - snap.opened_at!).toBe(200);
  });

  it("stays closed below the error-rate threshold, opens at it", async () => {
    const cb = breakers();
    await recordMany(cb, "rate", "success", 6);
    await recordMany(cb, "rate", "failure", 5);
    expect((await cb.state("rate")).state).toBe("closed"); // 5/11 < 0.5
    expect(await cb.record("rate", "failure")).toEqual({ state: "open", changed: true }); // 6/12
  });

  it("forgets outcomes that have left the rolling window", async () => {
    const cb = breakers({ windowMs: 300 });
    await recordMany(cb, "roll", "failure", 9);
    await sleep(400);
    expect(await cb.record("roll", "failure")).toEqual({ state: "closed", changed: false });
    expect(await cb.state("roll")).toMatchObject({ state: "closed", failures: 1 });
  });

  it("an open breaker refuses calls until openMs has passed", async () => {
    const cb = breakers();
    await trip(cb, "blk");
    const refused = await cb.acquire("blk");
    expect(refused).toMatchObject({ allowed: false, state: "open", probe: false });
    expect(refused.retryInMs).toBeGreaterThan(0);
    expect(refused.retryInMs).toBeLessThanOrEqual(200);
    // Outcomes arriving while open do not count or extend it.
    expect(await cb.record("blk", "failure")).toEqual({ state: "open", changed: false });
  });

  it("half-open lets exactly one of 20 concurrent callers probe", async () => {
    const cb = breakers();
    await trip(cb, "probe");
    await sleep(250);
    expect((await cb.state("probe")).state).toBe("half_open"); // read-only view of an expired open period
    const permits = await Promise.all(Array.from({ length: 20 }, () => cb.acquire("probe")));
    const allowed = permits.filter((p) => p.allowed);
    expect(allowed).toEqual([{ allowed: true, state: "half_open", probe: true }]);
    for (const p of permits.filter((x) => !x.allowed)) expect(p).toMatchObject({ state: "half_open", probe: false });
  });

  it("a probe success closes the breaker and clears its window", async () => {
    const cb = breakers();
    await trip(cb, "heal");
    await sleep(250);
    expect(await cb.acquire("heal")).toMatchObject({ allowed: true, probe: true });
    // A late ordinary success (a call started before the trip) does not decide.
    expect(await cb.record("heal", "success")).toEqual({ state: "half_open", changed: false });
    expect(await cb.record("heal", "success", { probe: true })).toEqual({ state: "closed", changed: true });
    expect(await cb.state("heal")).toEqual({ state: "closed", failures: 0, successes: 0 });
    expect(await cb.acquire("heal")).toEqual({ allowed: true, state: "closed", probe: false });
  });

  it("a probe failure re-opens the breaker for openMs", async () => {
    const cb = breakers();
    await trip(cb, "relapse");
    await sleep(250);
    expect(await cb.acquire("relapse")).toMatchObject({ allowed: true, probe: true });
    expect(await cb.record("relapse", "failure", { probe: true })).toEqual({ state: "open", changed: true });
    const refused = await cb.acquire("relapse");
    expect(refused).toMatchObject({ allowed: false, state: "open" });
    expect(refused.retryInMs).toBeGreaterThan(100);
  });

  it("a probe that never reports is released after halfOpenProbeTimeoutMs", async () => {
    const cb = breakers();
    await trip(cb, "lost");
    await sleep(250);
    expect(await cb.acquire("lost")).toMatchObject({ allowed: true, probe: true });
    const waiting = await cb.acquire("lost");
    expect(waiting).toMatchObject({ allowed: false, state: "half_open" });
    expect(waiting.retryInMs).toBeLessThanOrEqual(300);
    await sleep(350);
    expect(await cb.acquire("lost")).toEqual({ allowed: true, state: "half_open", probe: true });
  });

  it("a failure with Retry-After opens at once and holds for that long (capped)", async () => {
    const cb = breakers({ openMs: 100, maxRetryAfterMs: 1_000 });
    expect(await cb.record("ra", "failure", { retryAfterMs: 800 })).toEqual({ state: "open", changed: true });
    expect((await cb.acquire("ra")).retryInMs).toBeGreaterThan(600);
    await sleep(250); // past openMs, still inside Retry-After
    expect(await cb.acquire("ra")).toMatchObject({ allowed: false, state: "open" });
    // A shorter Retry-After never shortens the period; a longer one extends it.
    await cb.record("ra", "failure", { retryAfterMs: 10 });
    expect((await cb.acquire("ra")).retryInMs).toBeGreaterThan(300);
    await cb.record("ra", "failure", { retryAfterMs: 60_000 });
    const capped = await cb.acquire("ra");
    expect(capped.retryInMs).toBeGreaterThan(900);
    expect(capped.retryInMs).toBeLessThanOrEqual(1_000);
    // Retry-After on a success means nothing.
    await cb.reset("ra");
    expect(await cb.record("ra", "success", { retryAfterMs: 5_000 })).toEqual({ state: "closed", changed: false });
  });

  it("a probe failure with a Retry-After longer than openMs waits for the Retry-After", async () => {
    const cb = breakers();
    await trip(cb, "ra-probe");
    await sleep(250);
    expect(await cb.acquire("ra-probe")).toMatchObject({ probe: true });
    await cb.record("ra-probe", "failure", { probe: true, retryAfterMs: 700 });
    expect((await cb.acquire("ra-probe")).retryInMs).toBeGreaterThan(500);
  });

  it("two workers on separate connections share one breaker", async () => {
    const a = breakers();
    const b = breakers();
    await recordMany(a, "shared", "failure", 5);
    await recordMany(b, "shared", "failure", 5);
    expect(await a.acquire("shared")).toMatchObject({ allowed: false, state: "open" });
    expect(await b.acquire("shared")).toMatchObject({ allowed: false, state: "open" });
    await sleep(250);
    const [pa, pb] = await Promise.all([a.acquire("shared"), b.acquire("shared")]);
    expect([pa.probe, pb.probe].filter(Boolean)).toHaveLength(1);
    const prober = pa.probe ? a : b;
    const other = pa.probe ? b : a;
    await prober.record("shared", "success", { probe: true });
    expect(await other.acquire("shared")).toEqual({ allowed: true, state: "closed", probe: false });
  });

  it("reset closes a breaker and forgets its window", async () => {
    const cb = breakers();
    await trip(cb, "rst");
    await cb.reset("rst");
    expect(await cb.state("rst")).toEqual({ state: "closed", failures: 0, successes: 0 });
    expect(await cb.acquire("rst")).toEqual({ allowed: true, state: "closed", probe: false });
    await recordMany(cb, "rst", "failure", 9);
    expect((await cb.state("rst")).state).toBe("closed");
  });

  it("forceOpen holds a closed breaker open for the duration, then probes", async () => {
    const cb = breakers();
    const openUntil = await cb.forceOpen("forced", 300);
    const snap = await cb.state("forced");
    expect(snap).toMatchObject({ state: "open", open_until: openUntil });
    expect(openUntil - snap.opened_at!).toBe(300);
    expect(await cb.acquire("forced")).toMatchObject({ allowed: false, state: "open" });
    await sleep(350);
    expect(await cb.acquire("forced")).toEqual({ allowed: true, state: "half_open", probe: true });
  });

  it("states() reads many models at once, unknown ones closed", async () => {
    const cb = breakers();
    await cb.forceOpen("many-open", 10_000);
    await recordMany(cb, "many-busy", "success", 3);
    await cb.record("many-busy", "failure");
    const all = await cb.states(["many-open", "many-busy", "many-none", "many-open"]);
    expect(Object.keys(all).sort()).toEqual(["many-busy", "many-none", "many-open"]);
    expect(all["many-open"]?.state).toBe("open");
    expect(all["many-busy"]).toEqual({ state: "closed", failures: 1, successes: 3 });
    expect(all["many-none"]).toEqual({ state: "closed", failures: 0, successes: 0 });
    expect(await cb.states([])).toEqual({});
  });

  it("keeps every key under the {prefix} hash tag", async () => {
    const cb = breakers();
    await cb.record("tagged", "failure");
    await cb.forceOpen("tagged", 1_000);
    const keys = await connections[0]!.keys(`*${prefix}*cb:tagged*`);
    expect(keys.sort()).toEqual([`{${prefix}}:cb:tagged`, `{${prefix}}:cb:tagged:win`]);
  });
});
