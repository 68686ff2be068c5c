import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler, type Sampler } from "@opentelemetry/sdk-trace";

/**
 * The `OTEL_TRACES_SAMPLER` values this process understands (OpenTelemetry's SDK configuration
 * spec; `jaeger_remote`, `parentbased_jaeger_remote` and `xray` are not supported).
 */
export const TRACES_SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export type TracesSamplerName = (typeof TRACES_SAMPLERS)[number];

/** True for the samplers that take `OTEL_TRACES_SAMPLER_ARG` (the ratio). */
export function samplerTakesRatio(name: TracesSamplerName): boolean {
  return name === "traceidratio" || name === "parentbased_traceidratio";
}

/**
 * The SDK sampler a process exporting spans uses. `sampler` (`OTEL_TRACES_SAMPLER`) defaults to
 * `parentbased_always_on`, or to `parentbased_traceidratio` when only `sampleRatio` is given.
 * `parentbased_*` follow the parent span's sampled flag and apply the named sampler only to spans
 * that start a trace (so a trace is kept or dropped whole); the others decide every span anew.
 * `sampleRatio` (`OTEL_TRACES_SAMPLER_ARG`, 0..1, default 1) is used by the `traceidratio` ones
 * only. Throws on a name or ratio outside those.
 */
export function tracesSampler(opts: { sampler?: TracesSamplerName; sampleRatio?: number }): Sampler {
  const ratio = opts.sampleRatio ?? 1;
  if (!(ratio >= 0 && ratio <= 1)) throw new Error(`tracing: sampleRatio must be between 0 and 1, got ${ratio}`);
  const name = opts.sampler ?? (opts.sampleRatio === undefined ? "parentbased_always_on" : "parentbased_traceidratio");
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(ratio);
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default:
      throw new Error(`tracing: sampler must be one of ${TRACES_SAMPLERS.join(", ")}, got ${JSON.stringify(name)}`);
  }
}
