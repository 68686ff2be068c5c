import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE deployments ADD COLUMN allowed_models jsonb;
    ALTER TABLE tenants ADD COLUMN budget jsonb;
    ALTER TABLE tenants ADD COLUMN daily_cost_alert_usd numeric(18,6);
    ALTER TABLE api_keys ADD COLUMN replaced_by text;
    CREATE TABLE end_users (
      deployment_id text NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
      user_id text NOT NULL,
      tier text NOT NULL CHECK (tier IN ('free','paid')),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (deployment_id, user_id)
    );
    CREATE TABLE credit_ledger (
      id bigserial PRIMARY KEY,
      tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      amount_usd numeric(18,9) NOT NULL,
      kind text NOT NULL CHECK (kind IN ('grant','debit','adjustment')),
      reason text NOT NULL,
      idempotency_key text NOT NULL,
      job_id text,
      actor_key_id text,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (tenant_id, idempotency_key)
    );
    CREATE TABLE credit_balances (
      tenant_id text PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
      balance_usd numeric(18,9) NOT NULL,
      entries bigint NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX audit_log_created ON audit_log (id DESC);
    CREATE INDEX usage_events_deployment_time ON usage_events (deployment_id, occurred_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE credit_balances, credit_ledger, end_users;
    ALTER TABLE api_keys DROP COLUMN replaced_by;
    ALTER TABLE tenants DROP COLUMN daily_cost_alert_usd, DROP COLUMN budget;
    ALTER TABLE deployments DROP COLUMN allowed_models;
  `.execute(db);
}
