import { ROOT_CONTEXT, SamplingDecision, SpanKind, trace, TraceFlags, type Context } from "@opentelemetry/api";
import { tracesSampler, type TracesSamplerName } from "./traces-sampler";
import { tracingEnv } from "./tracing-sdk";

// TraceIdRatioBased decides on the XOR of the trace id's four 32-bit words against ratio × 2^32.
const LOW_ID = "00000000000000000000000000000001"; // sampled at any ratio above 0
const HIGH_ID = "000000000000000000000000ffffffff"; // sampled at ratio 1 only
const parent = (flags: TraceFlags): Context =>
  trace.setSpanContext(ROOT_CONTEXT, { traceId: LOW_ID, spanId: "b7ad6b7169203331", traceFlags: flags, isRemote: true });
const SAMPLED = "sampled";
const DROPPED = "dropped";
type Outcome = typeof SAMPLED | typeof DROPPED;

/** The decisions for: a new trace (low id), a new trace (high id), a sampled parent, an unsampled parent. */
function decisions(env: Record<string, string>): Outcome[] {
  const s = tracesSampler(tracingEnv(env));
  const decide = (ctx: Context, traceId: string): Outcome => {
    const d = s.shouldSample(ctx, traceId, "span", SpanKind.SERVER, {}, []).decision;
    // The SDK types the decision with its own copy of the API's enum (the same numbers).
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-comparison
    if (d === SamplingDecision.RECORD) throw new Error("no sampler here records without sampling");
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-comparison
    return d === SamplingDecision.RECORD_AND_SAMPLED ? SAMPLED : DROPPED;
  };
  return [decide(ROOT_CONTEXT, LOW_ID), decide(ROOT_CONTEXT, HIGH_ID), decide(parent(TraceFlags.SAMPLED), HIGH_ID), decide(parent(TraceFlags.NONE), LOW_ID)];
}

it.each<[Record<string, string>, Outcome[]]>([
  [{}, [SAMPLED, SAMPLED, SAMPLED, DROPPED]], // default parentbased_always_on
  [{ OTEL_TRACES_SAMPLER: "parentbased_always_on" }, [SAMPLED, SAMPLED, SAMPLED, DROPPED]],
  [{ OTEL_TRACES_SAMPLER: "parentbased_always_off" }, [DROPPED, DROPPED, SAMPLED, DROPPED]],
  [{ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.5" }, [SAMPLED, DROPPED, SAMPLED, DROPPED]],
  [{ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0" }, [DROPPED, DROPPED, SAMPLED, DROPPED]],
  [{ OTEL_TRACES_SAMPLER: "parentbased_traceidratio" }, [SAMPLED, SAMPLED, SAMPLED, DROPPED]], // ratio defaults to 1
  [{ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.5" }, [SAMPLED, DROPPED, DROPPED, SAMPLED]], // the parent's flag is not consulted
  [{ OTEL_TRACES_SAMPLER: "always_on" }, [SAMPLED, SAMPLED, SAMPLED, SAMPLED]],
  [{ OTEL_TRACES_SAMPLER: "always_off" }, [DROPPED, DROPPED, DROPPED, DROPPED]],
])("%j samples [new low id, new high id, sampled parent, unsampled parent] as %j", (env, expected) => {
  expect(decisions(env)).toEqual(expected);
});

it("only a ratio gives parentbased_traceidratio; a bad name or ratio throws", () => {
  expect(tracesSampler({ sampleRatio: 0.5 }).toString()).toBe(tracesSampler({ sampler: "parentbased_traceidratio", sampleRatio: 0.5 }).toString());
  expect(tracesSampler({}).toString()).toMatch(/^ParentBased\{root=AlwaysOnSampler/);
  expect(() => tracesSampler({ sampler: "sometimes" as TracesSamplerName })).toThrow(
    'sampler must be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio, got "sometimes"',
  );
  expect(() => tracesSampler({ sampler: "traceidratio", sampleRatio: -0.1 })).toThrow("sampleRatio must be between 0 and 1, got -0.1");
});
