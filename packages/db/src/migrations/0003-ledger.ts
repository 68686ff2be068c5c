import { sql, type Kysely } from "kysely";

/**
 * The usage ledger becomes partitioned by month (retention drops whole partitions); daily
 * reports and alert events get their tables. Partitions themselves are created by
 * `ensureUsagePartitions` (ahead of time, and for any month a batch needs).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE usage_events RENAME TO usage_events_unpartitioned;
    ALTER INDEX usage_events_pkey RENAME TO usage_events_unpartitioned_pkey;
    ALTER INDEX usage_events_tenant_time RENAME TO usage_events_unpartitioned_tenant_time;
    ALTER INDEX usage_events_deployment_time RENAME TO usage_events_unpartitioned_deployment_time;
    CREATE TABLE usage_events (
      job_id text NOT NULL,
      attempt integer NOT NULL,
      tenant_id text NOT NULL,
      deployment_id text NOT NULL,
      api_key_id text,
      requested_model text NOT NULL,
      served_model text NOT NULL,
      provider text NOT NULL,
      status text NOT NULL,
      input_tokens integer NOT NULL,
      output_tokens integer NOT NULL,
      cached_tokens integer NOT NULL DEFAULT 0,
      cost_usd numeric(18,9) NOT NULL,
      provenance text NOT NULL,
      ttft_ms integer,
      latency_ms integer NOT NULL,
      fallbacks integer NOT NULL DEFAULT 0,
      features jsonb NOT NULL DEFAULT '[]',
      rag jsonb,
      occurred_at timestamptz NOT NULL,
      inserted_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (job_id, attempt, occurred_at)
    ) PARTITION BY RANGE (occurred_at);
    CREATE INDEX usage_events_tenant_time ON usage_events (tenant_id, occurred_at);
    CREATE INDEX usage_events_deployment_time ON usage_events (deployment_id, occurred_at);
    CREATE TABLE daily_reports (
      tenant_id text NOT NULL,
      date date NOT NULL,
      report jsonb NOT NULL,
      generated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (tenant_id, date)
    );
    CREATE TABLE alert_events (
      id bigserial PRIMARY KEY,
      tenant_id text NOT NULL,
      kind text NOT NULL,
      subject text NOT NULL,
      period text NOT NULL,
      threshold integer NOT NULL,
      payload jsonb NOT NULL,
      fired_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (kind, subject, period, threshold)
    );
  `.execute(db);
  // Move earlier rows into monthly partitions made for them.
  const months = await sql<{
    m: string;
  }>`SELECT DISTINCT to_char(date_trunc('month', occurred_at AT TIME ZONE 'UTC'), 'YYYY-MM') AS m FROM usage_events_unpartitioned`.execute(db);
  for (const { m } of months.rows) await createMonthPartition(db, m);
  await sql`INSERT INTO usage_events SELECT * FROM usage_events_unpartitioned`.execute(db);
  await sql`DROP TABLE usage_events_unpartitioned`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE alert_events, daily_reports, usage_events`.execute(db);
}

/** `CREATE TABLE IF NOT EXISTS usage_events_yYYYYmMM PARTITION OF usage_events` for one UTC month ("YYYY-MM"). */
export async function createMonthPartition(db: Kysely<unknown>, month: string): Promise<string> {
  const [y, m] = month.split("-").map(Number) as [number, number];
  const from = `${y}-${String(m).padStart(2, "0")}-01`;
  const next = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, "0")}-01`;
  const name = `usage_events_y${y}m${String(m).padStart(2, "0")}`;
  await sql`CREATE TABLE IF NOT EXISTS ${sql.table(name)} PARTITION OF usage_events FOR VALUES FROM (${sql.lit(`${from} 00:00:00+00`)}) TO (${sql.lit(`${next} 00:00:00+00`)})`.execute(
    db,
  );
  return name;
}
