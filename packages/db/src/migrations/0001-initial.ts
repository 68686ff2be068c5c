import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE tenants (
      id text PRIMARY KEY,
      name text NOT NULL,
      timezone text NOT NULL DEFAULT 'UTC',
      billing_mode text NOT NULL DEFAULT 'postpaid' CHECK (billing_mode IN ('postpaid','prepaid')),
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE deployments (
      id text PRIMARY KEY,
      tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      name text NOT NULL,
      type text NOT NULL CHECK (type IN ('public','internal','hybrid')),
      is_default boolean NOT NULL DEFAULT false,
      features jsonb NOT NULL DEFAULT '{}',
      rate_limits jsonb NOT NULL DEFAULT '{}',
      budget jsonb,
      model_preference text,
      allowed_origins jsonb NOT NULL DEFAULT '[]',
      allowed_source_domains jsonb NOT NULL DEFAULT '[]',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX deployments_one_default ON deployments (tenant_id) WHERE is_default;
    CREATE TABLE api_keys (
      id text PRIMARY KEY,
      tenant_id text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
      deployment_id text REFERENCES deployments(id) ON DELETE CASCADE,
      name text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('secret','publishable')),
      secret_hash text NOT NULL,
      scopes jsonb NOT NULL,
      expires_at timestamptz,
      revoked_at timestamptz,
      last_used_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at);
    CREATE TABLE audit_log (
      id bigserial PRIMARY KEY,
      actor_key_id text,
      tenant_id text,
      action text NOT NULL,
      target_type text NOT NULL,
      target_id text NOT NULL,
      before jsonb,
      after jsonb,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE jobs (
      id text PRIMARY KEY,
      tenant_id text NOT NULL,
      deployment_id text NOT NULL,
      api_key_id text,
      status text NOT NULL,
      model text NOT NULL,
      served_model text,
      output jsonb,
      usage jsonb,
      routing jsonb NOT NULL DEFAULT '{"decision":null,"fallbacks":[]}',
      error jsonb,
      metadata jsonb,
      created_at timestamptz NOT NULL,
      started_at timestamptz,
      completed_at timestamptz
    );
    CREATE INDEX jobs_tenant_created ON jobs (tenant_id, id DESC);
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
      PRIMARY KEY (job_id, attempt)
    );
    CREATE INDEX usage_events_tenant_time ON usage_events (tenant_id, occurred_at);
    CREATE TABLE usage_daily (
      tenant_id text NOT NULL,
      deployment_id text NOT NULL,
      model text NOT NULL,
      day date NOT NULL,
      requests bigint NOT NULL DEFAULT 0,
      errors bigint NOT NULL DEFAULT 0,
      input_tokens bigint NOT NULL DEFAULT 0,
      output_tokens bigint NOT NULL DEFAULT 0,
      cost_usd numeric(18,9) NOT NULL DEFAULT 0,
      PRIMARY KEY (tenant_id, deployment_id, model, day)
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE usage_daily, usage_events, jobs, audit_log, api_keys, deployments, tenants`.execute(db);
}
