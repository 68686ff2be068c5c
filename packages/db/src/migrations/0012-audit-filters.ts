import { sql, type Kysely } from "kysely";

/**
 * Indexes for the audit log's filters (`GET /admin/v1/audit?tenant_id=&action=&actor=&target=`,
 * newest first) and for archival past retention (`created_at`): each equality filter walks its
 * own index in id order and stops at the page's limit instead of scanning the table.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE INDEX IF NOT EXISTS audit_log_tenant ON audit_log (tenant_id, id DESC);
    CREATE INDEX IF NOT EXISTS audit_log_action ON audit_log (action, id DESC);
    CREATE INDEX IF NOT EXISTS audit_log_actor ON audit_log (actor_key_id, id DESC);
    CREATE INDEX IF NOT EXISTS audit_log_target ON audit_log (target_id, id DESC);
    CREATE INDEX IF NOT EXISTS audit_log_time ON audit_log (created_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS audit_log_tenant, audit_log_action, audit_log_actor, audit_log_target, audit_log_time`.execute(db);
}
