import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { QUEUE_NAMES, type OpsOverview as OpsOverviewView, type QueueCounts, type QueueName, type QueueView } from "@switchyard/contracts";
import { MetricNames, type MetricsRegistry } from "@switchyard/telemetry";
import { sql } from "kysely";
import type { GatewayResources } from "../resources";
import { breakerStates } from "./breaker-views";
import { topTenants, withTimeout } from "@switchyard/queue";
import { fairReader } from "./fair-gate";

/** BullMQ job states reported per queue (snake_case in the API: `waiting_children`). */
export const JOB_STATES = ["waiting", "prioritized", "delayed", "waiting-children", "active", "completed", "failed"] as const;

/** A Redis call that takes longer than this marks its section as unavailable instead of hanging the page. */
const SECTION_TIMEOUT_MS = 2000;
/** Rates are per minute, over this window. */
const WINDOW_MS = 60_000;
/** Samples older than this are dropped (two windows, so a slow poller still gets a rate). */
const KEEP_SAMPLES_MS = 2 * WINDOW_MS;
const MAX_SAMPLES = 500;
const TOP_DEPLOYMENTS = 10;

/**
 * Counts per state of one queue, with BullMQ's own paused flag. ai-route's `waiting` includes the
 * jobs waiting in the fair lists (fair scheduling): during a flood most wait there, not in BullMQ.
 */
export async function queueCounts(r: GatewayResources, name: QueueName): Promise<QueueView> {
  const q = r.queues.queue(name);
  const [raw, paused, fairWaiting] = await Promise.all([
    q.getJobCounts(...JOB_STATES),
    q.isPaused(),
    name === "ai-route" ? fairReader(r).waitingCount() : Promise.resolve(0),
  ]);
  const n = (s: (typeof JOB_STATES)[number]) => raw[s] ?? 0;
  const counts: QueueCounts = {
    waiting: n("waiting") + fairWaiting,
    prioritized: n("prioritized"),
    delayed: n("delayed"),
    waiting_children: n("waiting-children"),
    active: n("active"),
    completed: n("completed"),
    failed: n("failed"),
  };
  return { queue: name, paused, counts };
}

/**
 * The current Prometheus text of this process's registry, read in-process: the exporter's request
 * handler is given a response whose `end` captures the body (it uses only `statusCode`,
 * `setHeader` and `end`), so nothing goes over the network and no port or address is assumed.
 */
export function scrapeOwnMetrics(registry: MetricsRegistry): Promise<string> {
  return new Promise<string>((resolve) => {
    const socket = new Socket();
    const req = new IncomingMessage(socket);
    const res = new ServerResponse(req);
    Object.defineProperty(res, "end", {
      value: (body?: unknown) => {
        socket.destroy();
        resolve(typeof body === "string" ? body : Buffer.isBuffer(body) ? body.toString("utf8") : "");
        return res;
      },
    });
    registry.handler(req, res);
  });
}

/** Sum of every sample of `metric` whose labels satisfy `match`, from Prometheus text. */
export function sumMetric(text: string, metric: string, match: (labels: Record<string, string>) => boolean = () => true): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(metric)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== metric) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const v = Number(m[3]);
    if (Number.isFinite(v) && match(labels)) total += v;
  }
  return total;
}

interface Sample {
  at: number;
  /** BullMQ's per-queue id counter: incremented by every `add`, by any process. */
  added: Partial<Record<QueueName, number>>;
  /** HTTP 5xx answered by this gateway since it started. */
  http5xx: number | null;
}

/** Per-minute rate of a counter between a base sample and now; null without a base, or when the counter went down (reset). */
function ratePerMin(base: Sample | undefined, now: Sample, pick: (s: Sample) => number | null | undefined): number | null {
  const cur = pick(now);
  const prev = base ? pick(base) : null;
  if (!base || cur === null || cur === undefined || prev === null || prev === undefined || cur < prev) return null;
  return Math.round((((cur - prev) * WINDOW_MS) / (now.at - base.at)) * 10) / 10;
}

/** Run a section; on failure or timeout it is null and the problem is listed, so the page still shows the rest. */
async function section<T>(name: string, problems: string[], fn: () => Promise<T>): Promise<T | null> {
  try {
    return await withTimeout(fn(), SECTION_TIMEOUT_MS);
  } catch (err) {
    problems.push(`${name}: ${(err as Error).message}`);
    return null;
  }
}

/**
 * What `GET /admin/v1/overview` (and so the `/dashboard` page) shows: queue depth and throughput,
 * errors, breakers, today's spend against budgets and open SSE connections.
 *
 * Sources, and their scope:
 * - queue counts: BullMQ `getJobCounts`, all processes.
 * - enqueued/min: deltas of BullMQ's per-queue id counter (every `add` increments it, whichever
 *   process adds) between the samples this object keeps from earlier calls; null until a second
 *   call at least a second later (the page polls every 2 s).
 * - completed/min and failed/min: jobs whose finish time is within the last minute, counted in
 *   BullMQ's `completed`/`failed` sorted sets (scored by finish time). The workers don't record
 *   BullMQ metrics (`getMetrics` would be empty), and finished jobs are kept an hour or longer, so
 *   the last minute is intact.
 * - HTTP 5xx and SSE connections: this gateway replica's own `/metrics` (read in-process), since
 *   it started. Other replicas count their own; Prometheus sums them.
 * - spend: today's (UTC) cost per deployment from the `usage_daily` rollups, top 10, each with its
 *   deployment budget (if any) for the current period from the budget ledger.
 */
export class OpsOverview {
  private samples: Sample[] = [];

  constructor(
    private readonly r: GatewayResources,
    private readonly now: () => number = Date.now,
  ) {}

  async build(): Promise<OpsOverviewView> {
    const problems: string[] = [];
    const at = this.now();
    const [queues, metricsText, breakers, spend, waiting] = await Promise.all([
      section("queues", problems, () => Promise.all(QUEUE_NAMES.map((q) => this.queue(q, at)))),
      section("metrics", problems, () => scrapeOwnMetrics(this.r.registry)),
      section("breakers", problems, () => breakerStates(this.r)),
      section("spend", problems, () => this.spend(new Date(at))),
      section("waiting tenants", problems, () => this.waitingTenants(at)),
    ]);
    const http5xx = metricsText === null ? null : sumMetric(metricsText, MetricNames.httpRequests, (l) => /^5\d\d$/.test(l.status ?? ""));
    const sample: Sample = { at, added: Object.fromEntries((queues ?? []).map((q) => [q.queue, q.added_total])), http5xx };
    // The oldest sample of the last minute (at least a second old) is the base of every rate.
    const base = this.samples.find((s) => at - s.at <= WINDOW_MS && at - s.at >= 1000);
    const enqueuedPerMin = (name: QueueName) => ratePerMin(base, sample, (s) => s.added[name]);
    const queueRows = (queues ?? []).map(({ added_total, ...q }) => ({ ...q, added_total, enqueued_per_min: enqueuedPerMin(q.queue) }));
    const sum = (f: (q: (typeof queueRows)[number]) => number | null): number | null =>
      queueRows.length && queueRows.every((q) => f(q) !== null) ? queueRows.reduce((a, q) => a + f(q)!, 0) : null;
    const result = {
      object: "ops_overview" as const,
      generated_at: new Date(at).toISOString(),
      window_seconds: WINDOW_MS / 1000,
      queues: queues === null ? null : queueRows,
      throughput:
        queues === null
          ? null
          : {
              enqueued_per_min: sum((q) => q.enqueued_per_min),
              /** Seconds the enqueue rate was measured over (up to the window; shorter just after the first call). */
              enqueued_over_seconds: base ? Math.round((at - base.at) / 100) / 10 : null,
              completed_per_min: sum((q) => q.completed_per_min),
              failed_per_min: sum((q) => q.failed_per_min),
            },
      errors: {
        http_5xx_total: http5xx,
        http_5xx_per_min: ratePerMin(base, sample, (s) => s.http5xx),
        failed_jobs: sum((q) => q.counts.failed),
        failed_jobs_last_min: sum((q) => q.failed_per_min),
      },
      breakers,
      spend,
      sse: { connections: metricsText === null ? null : sumMetric(metricsText, MetricNames.sseConnections) },
      waiting_tenants: waiting,
      scope: { http_and_sse: "this gateway replica, since it started", queues: "all processes" },
      problems,
    };
    this.remember(sample);
    return result;
  }

  private remember(sample: Sample): void {
    this.samples.push(sample);
    this.samples = this.samples.filter((s) => sample.at - s.at <= KEEP_SAMPLES_MS).slice(-MAX_SAMPLES);
  }

  private async queue(name: QueueName, at: number) {
    // The queues share this connection and prefix (createQueueSet), so these keys are the ones BullMQ writes.
    const client = this.r.redis;
    const keys = this.r.keys;
    const since = String(at - WINDOW_MS);
    const [base, added, completed, failed] = await Promise.all([
      queueCounts(this.r, name),
      client.get(keys.bullQueue(name, "id")),
      client.zcount(keys.bullQueue(name, "completed"), since, "+inf"),
      client.zcount(keys.bullQueue(name, "failed"), since, "+inf"),
    ]);
    return { ...base, added_total: Number(added ?? 0), completed_per_min: completed, failed_per_min: failed };
  }

  /** The top tenants waiting in the fair lists, with their oldest job's wait. */
  private async waitingTenants(at: number) {
    return topTenants(await fairReader(this.r).depth(), TOP_DEPLOYMENTS).map((t) => ({
      tenant_id: t.tenant,
      waiting: t.waiting,
      oldest_wait_seconds: t.oldestMs > 0 ? Math.max(0, Math.round((at - t.oldestMs) / 100) / 10) : null,
    }));
  }

  private async spend(at: Date) {
    const day = at.toISOString().slice(0, 10);
    const db = this.r.db;
    const [rows, total] = await Promise.all([
      db
        .selectFrom("usage_daily as u")
        .innerJoin("deployments as d", "d.id", "u.deployment_id")
        .innerJoin("tenants as t", "t.id", "u.tenant_id")
        .select(["u.deployment_id", "d.name as deployment_name", "u.tenant_id", "t.name as tenant_name"])
        .select([
          sql<string>`sum(u.cost_usd)`.as("cost_usd"),
          sql<string>`sum(u.requests)`.as("requests"),
          sql<string>`sum(u.input_tokens + u.output_tokens)`.as("tokens"),
        ])
        .where("u.day", "=", day)
        .groupBy(["u.deployment_id", "d.name", "u.tenant_id", "t.name"])
        .orderBy(sql`sum(u.cost_usd)`, "desc")
        .orderBy("u.deployment_id")
        .limit(TOP_DEPLOYMENTS)
        .execute(),
      db
        .selectFrom("usage_daily")
        .select(sql<string>`coalesce(sum(cost_usd), 0)`.as("usd"))
        .where("day", "=", day)
        .executeTakeFirstOrThrow(),
    ]);
    const top = await Promise.all(
      rows.map(async (row) => {
        const d = await this.r.deployments.get(row.deployment_id);
        const [u] = d.budget ? await this.r.budgets.usage([{ scope: "deployment", id: d.id, budget: d.budget, timezone: d.tenant.timezone }]) : [];
        return {
          deployment_id: row.deployment_id,
          deployment_name: row.deployment_name,
          tenant_id: row.tenant_id,
          tenant_name: row.tenant_name,
          cost_usd: Number(row.cost_usd),
          requests: Number(row.requests),
          tokens: Number(row.tokens),
          budget: u
            ? {
                period: u.period,
                ...(u.limit_usd !== undefined ? { limit_usd: u.limit_usd } : {}),
                ...(u.limit_tokens !== undefined ? { limit_tokens: u.limit_tokens } : {}),
                spent_usd: u.spent_usd,
                spent_tokens: u.spent_tokens,
                reserved_usd: u.reserved_usd,
                used_ratio: u.used_ratio,
              }
            : null,
        };
      }),
    );
    return { day, total_cost_usd: Number(total.usd), top_deployments: top };
  }
}
