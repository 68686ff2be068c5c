/**
 * The printed report of `bench/portkey-compare.ts`: the closed- and open-loop runs, every round
 * pooled per target, the goals' verdicts, and warnings about failed or dropped requests and a
 * contended machine.
 */
import os from "node:os";
import type { Aggregate, Verdicts } from "./portkey-aggregate";
import type { Config } from "./portkey-config";
import type { ClosedResult, OpenResult } from "./portkey-phases";
import { table } from "./stats";

export function report(cfg: Config, closed: ClosedResult[], open: OpenResult[], agg: Aggregate, v: Verdicts): string {
  const lines: string[] = [];
  const cpuCell = (c: Pick<ClosedResult["cpu_ms_per_ok"], "target" | "postgres" | "redis_shared">) =>
    [c.target ?? "-", ...(c.postgres !== null ? [`+${c.postgres}`] : []), ...(c.redis_shared !== null ? [`+${c.redis_shared}`] : [])].join(" ");
  const busy = (m: ClosedResult["machine"]) => (m.busy_cpus === null ? "-" : `${m.busy_cpus}/${m.outside_cpus ?? "-"} of ${m.cpus}`);
  lines.push(
    `\nclosed loop: ${cfg.connections} connections, ${cfg.closedMs / 1000} s or ${cfg.closedMax} requests per run after ${cfg.warmupRequests} warm-up, upstream delay ${cfg.upstreamDelayMs} ms`,
  );
  lines.push(
    table(
      [
        "target",
        "round",
        "ok",
        "errors",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "upstream calls",
        "cpu ms/req: target +pg +redis",
        "client cpu ms/req",
        "busy/outside CPUs",
        "statuses",
      ],
      closed.map((r, i) => [
        r.target,
        Math.floor(i / cfg.targets.length) + 1,
        r.ok,
        r.errors,
        r.req_per_s,
        r.latency_ms.p50,
        r.latency_ms.p99,
        r.latency_ms.max,
        `${r.upstream.calls} (${r.upstream.stream} stream)`,
        cpuCell(r.cpu_ms_per_ok),
        r.cpu_ms_per_ok.client ?? "-",
        busy(r.machine),
        JSON.stringify(r.statuses),
      ]),
    ),
  );
  lines.push(
    `\nopen loop: ${cfg.openRate} req/s for ${cfg.openMs / 1000} s per run after ${cfg.openWarmupMs / 1000} s warm-up; latency from each request's due time`,
  );
  lines.push(
    table(
      [
        "target",
        "round",
        "sent",
        "ok",
        "errors",
        "dropped",
        "late",
        "p50 ms",
        "p99 ms",
        "max ms",
        "upstream calls",
        "cpu ms/req: target +pg +redis",
        "busy/outside CPUs",
      ],
      open.map((r, i) => [
        r.target,
        Math.floor(i / cfg.targets.length) + 1,
        r.sent,
        r.ok,
        r.errors,
        r.dropped,
        r.late,
        r.latency_ms.p50,
        r.latency_ms.p99,
        r.latency_ms.max,
        `${r.upstream.calls} (${r.upstream.stream} stream)`,
        cpuCell(r.cpu_ms_per_ok),
        busy(r.machine),
      ]),
    ),
  );
  lines.push(`\nall rounds (${cfg.rounds}):`);
  lines.push(
    table(
      [
        "target",
        "closed req/s",
        "closed p50",
        "closed p99",
        "closed errors",
        `open@${cfg.openRate} p50`,
        "p99",
        "added p50",
        "added p99",
        "open errors+dropped",
        "closed cpu ms/req: target +pg +redis",
      ],
      cfg.targets.map((t) => {
        const a = agg[t]!;
        const added = t === "direct" ? null : v.added_ms_open_loop[t];
        return [
          t,
          a.closed.req_per_s,
          a.closed.latency_ms.p50,
          a.closed.latency_ms.p99,
          a.closed.errors,
          a.open.latency_ms.p50,
          a.open.latency_ms.p99,
          added?.p50 ?? "-",
          added?.p99 ?? "-",
          a.open.errors + a.open.dropped,
          cpuCell(a.closed.cpu_ms_per_ok),
        ];
      }),
    ),
  );
  for (const t of cfg.targets) {
    const a = agg[t]!;
    const first = a.closed.first_error ?? a.open.first_error;
    if (first) lines.push(`${t}: first error: ${first}`);
  }
  if (v.throughput_ratio_switchyard_over_portkey !== null) {
    lines.push(
      `\nswitchyard req/s ÷ portkey req/s at ${cfg.connections} connections: ${v.throughput_ratio_switchyard_over_portkey} (goal ≥ 2: ${v.throughput_goal_met ? "met" : "NOT met"})`,
    );
    // Every request waits for the upstream, so no gateway serves more than connections ÷ upstream delay.
    const ceiling = cfg.upstreamDelayMs > 0 ? Math.floor((cfg.connections * 1000) / cfg.upstreamDelayMs) : null;
    const portkey = agg.portkey?.closed.req_per_s;
    if (ceiling !== null && portkey !== undefined)
      lines.push(
        `ceiling for any gateway: ${cfg.connections} connections ÷ ${cfg.upstreamDelayMs} ms upstream = ${ceiling} req/s (direct measured ${agg.direct!.closed.req_per_s}); 2 × portkey's = ${Math.round(2 * portkey)} req/s${2 * portkey > ceiling ? ", above the ceiling: the goal cannot be met at these settings" : ""}`,
      );
  }
  if (v.added_p50_switchyard_minus_portkey_ms !== null) {
    lines.push(
      `switchyard added p50 − portkey added p50 at ${cfg.openRate} req/s: ${v.added_p50_switchyard_minus_portkey_ms} ms (goal ≤ 0: ${v.added_p50_goal_met ? "met" : "NOT met"})`,
    );
  }
  for (const t of cfg.targets) {
    const a = agg[t]!;
    if (a.closed.errors + a.open.errors > 0) lines.push(`${t}: ${a.closed.errors + a.open.errors} request(s) failed (first error above)`);
    if (a.open.dropped > 0)
      lines.push(
        `${t}: ${a.open.dropped} open-loop arrival(s) not sent because ${cfg.openMaxInFlight} requests were outstanding: it did not keep up with ${cfg.openRate} req/s`,
      );
  }
  if (!v.clean) lines.push("a run with failed or dropped requests does not stand as a pass");
  const outside = [...closed, ...open].map((r) => r.machine.outside_cpus).filter((x): x is number => x !== null);
  const worst = Math.max(0, ...outside);
  if (worst > 0.25) {
    lines.push(
      `contended: processes this bench did not start (Redis, other users) used up to ${worst} of ${os.cpus().length} CPUs during a run; throughput and latency figures are depressed and noisy, CPU ms/req less so`,
    );
  }
  return lines.join("\n") + "\n";
}
