/**
 * The printed report of `bench/gateway-overhead.ts`: phase (a)'s admission table and the issue 13
 * goals table, phase (b)'s latency table and where the time goes, the ledger check, and the
 * warnings the apps printed.
 */
import type { appComplaints } from "./app-output";
import type { AdmissionResult } from "./overhead-admission";
import type { LatencyResult } from "./overhead-latency";
import { round, table } from "./stats";

const met = (v: number | null, ok: (v: number) => boolean) => (v === null ? "-" : ok(v) ? "yes" : "NO");

export function report(result: Record<string, unknown>, a: AdmissionResult | null, b: LatencyResult | null): void {
  const lines: string[] = [];
  if (a) {
    lines.push(`\n(a) admission: N=${a.n}, concurrency=${a.concurrency}, warm-up ${a.warmup} each (gateway only, no worker)`);
    const row = (name: string, r: typeof a.bare_http) => [
      name,
      r.ok,
      r.failed,
      r.per_second,
      r.latency_ms.p50,
      r.latency_ms.p99,
      r.cpu_ms_per_op.gateway ?? "-",
      r.cpu_ms_per_op.redis_server ?? "-",
      r.cpu_ms_per_op.bench_client ?? "-",
    ];
    lines.push(
      table(
        ["path", "ok", "failed", "jobs/s", "p50 ms", "p99 ms", "gw cpu ms/job", "redis cpu ms/job", "client cpu ms/job"],
        [row("gateway POST /v1/jobs", a.gateway), row("raw BullMQ Queue.add", a.bullmq), row("bare node:http, no Redis (floor)", a.bare_http)],
      ),
    );
    lines.push(
      `gateway / raw BullMQ throughput: ${a.ratio_gateway_to_bullmq} (raw is ${round(1 / a.ratio_gateway_to_bullmq, 2)}x the gateway); statuses ${JSON.stringify(a.gateway.statuses)}`,
    );
    lines.push(
      `Redis per job: gateway ${a.gateway.round_trips.commands_per_op} round trips ${JSON.stringify(a.gateway.round_trips.by_command)}, ${a.gateway.redis_usec_per_op} µs, ${a.gateway.redis_bytes_per_op} bytes; raw ${a.bullmq.round_trips.commands_per_op} round trips, ${a.bullmq.redis_usec_per_op} µs, ${a.bullmq.redis_bytes_per_op} bytes`,
    );
    const g = a.goals;
    lines.push("\nissue 13 goals (each a ratio to its baseline measured in this run):");
    lines.push(
      table(
        ["goal", "measure", "value", "target", "met"],
        [
          [
            "P1",
            "POST /v1/jobs jobs/s ÷ raw Queue.add jobs/s",
            g.P1_throughput.value ?? "-",
            g.P1_throughput.goal,
            met(g.P1_throughput.value, (v) => v >= 0.5),
          ],
          [
            "P1 ceiling",
            "bare node:http jobs/s ÷ raw Queue.add jobs/s (no gateway here can do better)",
            g.P1_throughput.bare_http_ceiling ?? "-",
            g.P1_throughput.goal,
            met(g.P1_throughput.bare_http_ceiling, (v) => v >= 0.5),
          ],
          [
            "P1b",
            `gateway CPU/job ÷ raw client CPU/add (${g.P1b_cpu_per_job.gateway_ms} / ${g.P1b_cpu_per_job.raw_client_ms} ms)`,
            g.P1b_cpu_per_job.value ?? "-",
            g.P1b_cpu_per_job.goal,
            met(g.P1b_cpu_per_job.value, (v) => v <= 2),
          ],
          [
            "P1b floor",
            `bare node:http CPU/request ÷ raw client CPU/add (${g.P1b_cpu_per_job.bare_http_ms} ms)`,
            g.P1b_cpu_per_job.bare_http_floor ?? "-",
            g.P1b_cpu_per_job.goal,
            met(g.P1b_cpu_per_job.bare_http_floor, (v) => v <= 2),
          ],
          [
            "P1c",
            `Redis round trips per job (raw: ${g.P1c_round_trips.raw})`,
            g.P1c_round_trips.value,
            g.P1c_round_trips.goal,
            met(g.P1c_round_trips.value, (v) => v <= 3),
          ],
          [
            "P1c",
            `Redis µs per job ÷ raw (${g.P1c_redis_usec.gateway_usec} / ${g.P1c_redis_usec.raw_usec} µs)`,
            g.P1c_redis_usec.value ?? "-",
            g.P1c_redis_usec.goal,
            met(g.P1c_redis_usec.value, (v) => v <= 2),
          ],
          [
            "P7",
            `Redis bytes per waiting job ÷ raw (${g.P7_bytes_per_waiting_job.gateway_bytes} / ${g.P7_bytes_per_waiting_job.raw_bytes} B)`,
            g.P7_bytes_per_waiting_job.value ?? "-",
            g.P7_bytes_per_waiting_job.goal,
            met(g.P7_bytes_per_waiting_job.value, (v) => v <= 1.5 && (g.P7_bytes_per_waiting_job.gateway_bytes ?? Infinity) <= 2048),
          ],
        ],
      ),
    );
  }
  if (b) {
    lines.push(
      `\n(b) latency: M=${b.m}, concurrency=${b.concurrency}, simulated ttft ${b.behaviour.ttft_ms} ms, ${b.behaviour.tokens_per_second} tok/s, ${b.max_tokens} tokens`,
    );
    lines.push(
      table(
        ["measure", "p50 ms", "p99 ms", "mean ms", "max ms"],
        [
          ["direct streamChat: total", b.direct.total_ms.p50, b.direct.total_ms.p99, b.direct.total_ms.mean, b.direct.total_ms.max],
          ["direct streamChat: first token", b.direct.ttft_ms.p50, b.direct.ttft_ms.p99, b.direct.ttft_ms.mean, b.direct.ttft_ms.max],
          ["gateway: POST -> done", b.gateway.total_ms.p50, b.gateway.total_ms.p99, b.gateway.total_ms.mean, b.gateway.total_ms.max],
          ["gateway: POST -> first delta", b.gateway.ttft_ms.p50, b.gateway.ttft_ms.p99, b.gateway.ttft_ms.mean, b.gateway.ttft_ms.max],
          ["gateway: POST -> 202", b.gateway.submit_ms.p50, b.gateway.submit_ms.p99, b.gateway.submit_ms.mean, b.gateway.submit_ms.max],
          ["added (gateway - direct), total", b.added_ms.p50, b.added_ms.p99, b.added_ms.mean, "-"],
        ],
      ),
    );
    lines.push("where it goes (ms after POST; worker write times from Redis Stream ids, 1 ms resolution):");
    lines.push(
      table(
        ["milestone", "p50 ms", "p99 ms"],
        [
          ["202 received by client", b.gateway.submit_ms.p50, b.gateway.submit_ms.p99],
          ["worker wrote status running", b.written_at_ms.running.p50, b.written_at_ms.running.p99],
          ["worker wrote first delta", b.written_at_ms.first_delta.p50, b.written_at_ms.first_delta.p99],
          ["client got first delta", b.gateway.ttft_ms.p50, b.gateway.ttft_ms.p99],
          ["worker wrote done", b.written_at_ms.terminal.p50, b.written_at_ms.terminal.p99],
          ["client got done", b.gateway.total_ms.p50, b.gateway.total_ms.p99],
        ],
      ),
    );
    lines.push(
      `ratio gateway/direct: p50 ${b.ratio.p50}x, p99 ${b.ratio.p99}x; failures direct ${b.direct.failed}, gateway ${b.gateway.failed}${b.gateway.errors.length ? ` (${b.gateway.errors[0]})` : ""}`,
    );
  }
  if (result.ledger) lines.push(`ledger after phase (b): ${JSON.stringify(result.ledger)}`);
  const complaints = result.app_output as ReturnType<typeof appComplaints> | undefined;
  for (const [label, c] of Object.entries(complaints ?? {}))
    if (c.lines > 0) lines.push(`${label} printed ${c.lines} warning/error line(s), first: ${c.first[0]}`);
  process.stdout.write(lines.join("\n") + "\n");
}
