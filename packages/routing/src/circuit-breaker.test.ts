import { Redis } from "ioredis";
import { CircuitBreakers, stateCode } from "./circuit-breaker";

describe("stateCode", () => {
  it("maps states to the circuit_breaker_state gauge values", () => {
    expect([stateCode("closed"), stateCode("half_open"), stateCode("open")]).toEqual([0, 1, 2]);
  });
});

describe("CircuitBreakers options", () => {
  // A client that never connects: option checks happen before any command.
  const redis = new Redis({ lazyConnect: true });
  afterAll(() => redis.disconnect());

  it.each([{ windowMs: 0 }, { minVolume: -1 }, { errorRateThreshold: 0 }, { errorRateThreshold: 1.5 }, { openMs: Number.NaN }, { halfOpenProbeTimeoutMs: 0 }])(
    "rejects %o",
    (bad) => {
      expect(() => new CircuitBreakers({ redis, prefix: "x", ...bad })).toThrow(RangeError);
    },
  );

  it("accepts the defaults", () => {
    expect(() => new CircuitBreakers({ redis, prefix: "x" })).not.toThrow();
  });
});
