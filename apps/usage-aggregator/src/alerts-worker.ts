import { createHmac } from "node:crypto";
import { AlertBody } from "@switchyard/admission";
import type { AlertJobPayload } from "@switchyard/contracts";
import { writeAudit, type Database } from "@switchyard/db";
import { defineProcessor, type Redis, type RedisKeys } from "@switchyard/queue";
import { MetricNames, type Logger, type MetricsRegistry } from "@switchyard/telemetry";
import { UnrecoverableError, type Worker } from "bullmq";
import { sql, type Kysely } from "kysely";

/** Options of {@link startAlertsWorker}. */
export interface AlertsWorkerOptions {
  db: Kysely<Database>;
  keys: RedisKeys;
  /** For the worker; BullMQ opens its own blocking connection from it. */
  connection: Redis;
  registry: MetricsRegistry;
  logger: Logger;
  /** Where alerts are POSTed. Unset: recorded only. */
  webhookUrl?: string;
  /** HMAC key of `X-Switchyard-Signature`. Unset: the header is left out. */
  webhookSecret?: string;
  /** Longest a webhook POST may take (answer included). Default 10 000 ms. */
  timeoutMs?: number;
  /** Alerts handled at once. Default 4. */
  concurrency?: number;
  /** Counts each job taken (`ai_queue_dequeue_total`). */
  onDequeue?: (queue: "ai-alerts") => void;
}

/** How an alert stood in `alert_events` when a job for it ran. */
type Recorded = "inserted" | "redelivered" | "duplicate";

/** `sha256=<hex>`: HMAC-SHA256 of `"<timestamp>.<body>"`, as `X-Switchyard-Signature` carries it. */
export function signAlertWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** Write the alert's row and its audit row once (one transaction); tell a re-delivery from a second alert for the same tuple. */
async function record(db: Kysely<Database>, payload: AlertJobPayload, b: AlertBody): Promise<Recorded> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto("alert_events")
      .values({
        tenant_id: payload.tenant_id,
        kind: b.kind,
        subject: b.subject,
        period: b.period,
        threshold: b.threshold,
        payload: JSON.stringify(payload.body),
        fired_at: b.fired_at,
      })
      .onConflict((oc) => oc.columns(["kind", "subject", "period", "threshold"]).doNothing())
      .returning("id")
      .executeTakeFirst();
    if (row) {
      await writeAudit(
        trx,
        { keyId: null },
        { tenant_id: payload.tenant_id, action: "alert.fired", target_type: "alert", target_id: payload.alert_id, before: null, after: payload.body },
      );
      return "inserted";
    }
    const existing = await trx
      .selectFrom("alert_events")
      .select(sql<string | null>`payload->>'alert_id'`.as("alert_id"))
      .where("kind", "=", b.kind)
      .where("subject", "=", b.subject)
      .where("period", "=", b.period)
      .where("threshold", "=", b.threshold)
      .executeTakeFirst();
    // Same alert id: this job ran before (and its webhook may not have got through). Another id:
    // the tuple fired twice (its Redis marker was lost), and the first one already went out.
    return existing?.alert_id === payload.alert_id ? "redelivered" : "duplicate";
  });
}

/**
 * Consumes `ai-alerts`: records each alert once (`alert_events` row and an `alert.fired` audit
 * row, both skipped on re-delivery), counts `budget_alerts_total{kind,threshold}`, then POSTs the
 * alert's body to the webhook, signed. A non-2xx answer, a network error or the timeout throws,
 * so BullMQ retries with the catalog's backoff; the webhook may thus see an alert more than once
 * (same `alert_id`), never two alerts for one (kind, subject, period, threshold).
 */
export function startAlertsWorker(o: AlertsWorkerOptions): Worker {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const alerts = o.registry.meter.createCounter(MetricNames.budgetAlerts, { description: "Alerts recorded, by kind and threshold" });
  const deliveries = o.registry.meter.createCounter(MetricNames.alertWebhookDeliveries, { description: "Alert webhook POSTs, by result" });
  if (o.webhookUrl && !o.webhookSecret) o.logger.warn("alert webhooks are sent unsigned: ALERT_WEBHOOK_SECRET is not set");

  const deliver = async (url: string, payload: AlertJobPayload): Promise<number> => {
    const body = JSON.stringify(payload.body);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "switchyard-alerts",
      "x-switchyard-alert-id": payload.alert_id,
      "x-switchyard-timestamp": timestamp,
    };
    if (o.webhookSecret) headers["x-switchyard-signature"] = signAlertWebhook(o.webhookSecret, timestamp, body);
    try {
      // fetch is fine here: a few alerts a day, not the per-request path DESIGN.md measures.
      const res = await fetch(url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
      const text = await res.text().catch(() => "");
      if (res.status < 200 || res.status > 299) throw new Error(`alert webhook answered ${res.status}${text ? `: ${text.slice(0, 200)}` : ""}`);
      deliveries.add(1, { result: "ok" });
      return res.status;
    } catch (err) {
      deliveries.add(1, { result: "error" });
      throw err;
    }
  };

  const worker = defineProcessor(
    "ai-alerts",
    async (payload, job) => {
      const parsed = AlertBody.safeParse(payload.body);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
        throw new UnrecoverableError(`ai-alerts job ${job.id}: invalid alert body: ${problems}`);
      }
      const b = parsed.data;
      const state = await record(o.db, payload, b);
      if (state === "inserted") alerts.add(1, { kind: b.kind, threshold: String(b.threshold) });
      if (state === "duplicate") {
        o.logger.warn(
          { jobId: job.id, alertId: payload.alert_id, kind: b.kind, subject: b.subject, period: b.period, threshold: b.threshold },
          "alert already recorded under another id; not sent again",
        );
        return { state, delivered: false };
      }
      if (!o.webhookUrl) return { state, delivered: false };
      const status = await deliver(o.webhookUrl, payload);
      o.logger.info(
        { jobId: job.id, alertId: payload.alert_id, kind: b.kind, subject: b.subject, threshold: b.threshold, status, attempt: job.attemptsMade + 1 },
        "alert delivered",
      );
      return { state, delivered: true, status };
    },
    { keys: o.keys, connection: o.connection, concurrency: o.concurrency ?? 4, onDequeue: o.onDequeue },
  );
  worker.on("failed", (job, err) => o.logger.warn({ jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, "alert not delivered; will retry"));
  worker.on("error", (err) => o.logger.error({ err: err.message }, "alerts worker error"));
  return worker;
}
