/**
 * The figures of `bench/portkey-compare.ts` over every round: each target's pooled closed- and
 * open-loop results, the latency each gateway adds over the direct baseline, and the verdicts
 * on the issue 13 goals (throughput ratio, added p50).
 */
import type { ClosedResult, OpenResult } from "./portkey-phases";
import type { Config } from "./portkey-config";
import { round, summarize, type Summary } from "./stats";

/** One target's figures over every round: req/s from total ok over total time, latencies pooled. */
export function aggregate(cfg: Config, closed: ClosedResult[], open: OpenResult[]) {
  const out: Record<string, { closed: ReturnType<typeof closedAgg>; open: ReturnType<typeof openAgg> }> = {};
  /** CPU ms per ok request over every round (weighted by ok). */
  const cpuAgg = (rs: Array<ClosedResult | OpenResult>) => {
    const w = (k: "target" | "postgres" | "redis_shared") => {
      const with_ = rs.filter((r) => r.cpu_ms_per_ok[k] !== null);
      const ok = with_.reduce((a, r) => a + r.ok, 0);
      return with_.length === 0 || ok === 0 ? null : round(with_.reduce((a, r) => a + r.cpu_ms_per_ok[k]! * r.ok, 0) / ok, 3);
    };
    return { target: w("target"), postgres: w("postgres"), redis_shared: w("redis_shared") };
  };
  const closedAgg = (rs: ClosedResult[]) => {
    const ok = rs.reduce((a, r) => a + r.ok, 0);
    const ms = rs.reduce((a, r) => a + r.elapsed_ms, 0);
    return {
      ok,
      errors: rs.reduce((a, r) => a + r.errors, 0),
      req_per_s: round(ok / (ms / 1000), 1),
      req_per_s_by_round: rs.map((r) => r.req_per_s),
      latency_ms: summarize(rs.flatMap((r) => r.latencies)),
      cpu_ms_per_ok: cpuAgg(rs),
      first_error: rs.flatMap((r) => r.first_errors)[0] ?? null,
    };
  };
  const openAgg = (rs: OpenResult[]) => ({
    ok: rs.reduce((a, r) => a + r.ok, 0),
    errors: rs.reduce((a, r) => a + r.errors, 0),
    dropped: rs.reduce((a, r) => a + r.dropped, 0),
    late: rs.reduce((a, r) => a + r.late, 0),
    latency_ms: summarize(rs.flatMap((r) => r.latencies)),
    cpu_ms_per_ok: cpuAgg(rs),
    first_error: rs.flatMap((r) => r.first_errors)[0] ?? null,
  });
  for (const t of cfg.targets) out[t] = { closed: closedAgg(closed.filter((r) => r.target === t)), open: openAgg(open.filter((r) => r.target === t)) };
  return out;
}

export type Aggregate = ReturnType<typeof aggregate>;

export function verdicts(agg: Aggregate) {
  const d = agg.direct?.open.latency_ms;
  const added = (s: Summary | undefined) => (s && d ? { p50: round(s.p50 - d.p50), p99: round(s.p99 - d.p99) } : null);
  const sy = agg.switchyard;
  const pk = agg.portkey;
  const addedSy = added(sy?.open.latency_ms);
  const addedPk = added(pk?.open.latency_ms);
  const throughputRatio = sy && pk ? round(sy.closed.req_per_s / pk.closed.req_per_s, 3) : null;
  const p50Diff = addedSy && addedPk ? round(addedSy.p50 - addedPk.p50) : null;
  return {
    added_ms_open_loop: { direct_p50: d?.p50 ?? null, direct_p99: d?.p99 ?? null, portkey: addedPk, switchyard: addedSy },
    added_ms_closed_loop: {
      portkey:
        pk && agg.direct
          ? { p50: round(pk.closed.latency_ms.p50 - agg.direct.closed.latency_ms.p50), p99: round(pk.closed.latency_ms.p99 - agg.direct.closed.latency_ms.p99) }
          : null,
      switchyard:
        sy && agg.direct
          ? { p50: round(sy.closed.latency_ms.p50 - agg.direct.closed.latency_ms.p50), p99: round(sy.closed.latency_ms.p99 - agg.direct.closed.latency_ms.p99) }
          : null,
    },
    throughput_ratio_switchyard_over_portkey: throughputRatio,
    throughput_goal_met: throughputRatio === null ? null : throughputRatio >= 2,
    added_p50_switchyard_minus_portkey_ms: p50Diff,
    added_p50_goal_met: p50Diff === null ? null : p50Diff <= 0,
    // A goal is only met by a run without errors.
    clean: Object.values(agg).every((a) => a.closed.errors === 0 && a.open.errors === 0 && a.open.dropped === 0),
  };
}

export type Verdicts = ReturnType<typeof verdicts>;
