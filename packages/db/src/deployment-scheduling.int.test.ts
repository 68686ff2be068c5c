/**
 * Migration 0020 (a deployment's scheduling settings) on real Postgres: it applies on an empty
 * database and on one with deployments already in it (they take the defaults), its CHECK
 * constraints refuse values outside the bounds, and the repository writes, reads and audits them.
 */
import { createTestDatabase, TEST_PG_ADMIN_URL, type TestDatabase } from "@switchyard/testkit";
import { randomBytes } from "node:crypto";
import { sql, type Kysely } from "kysely";
import { Client } from "pg";
import { createDb } from "./create-db";
import { createDeployment, findDeploymentWithTenant, updateDeployment, type DeploymentSettingsInput } from "./deployments";
import { migrateToLatest } from "./migrate";
import * as m0020 from "./migrations/0020-deployment-scheduling";
import { createTenant } from "./tenants";

let t: TestDatabase;
/** A typed database as the migrations take it (as migrate.ts hands it to them). */
const untyped = <T>(db: Kysely<T>) => db as Kysely<unknown>;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const settings = (over: Partial<DeploymentSettingsInput> = {}): DeploymentSettingsInput => ({
  name: "sched",
  type: "internal",
  features: {},
  rate_limits: {},
  budget: null,
  model_preference: null,
  allowed_models: null,
  allowed_origins: [],
  allowed_source_domains: [],
  ...over,
});

describe("migration 0020-deployment-scheduling", () => {
  it("applies on an empty database: the columns exist with their defaults", async () => {
    const admin = new Client({ connectionString: TEST_PG_ADMIN_URL });
    await admin.connect();
    const name = `sy_m0020_${randomBytes(4).toString("hex")}`;
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(TEST_PG_ADMIN_URL);
    url.pathname = `/${name}`;
    const db = createDb({ connectionString: url.toString(), max: 1 });
    try {
      expect(await migrateToLatest(db)).toContain("0020-deployment-scheduling");
      const cols = await sql<{ column_name: string; is_nullable: string; column_default: string | null; data_type: string }>`
        SELECT column_name, is_nullable, column_default, data_type FROM information_schema.columns
        WHERE table_name = 'deployments' AND column_name IN ('queue_weight', 'max_concurrent_jobs', 'max_queue_ms') ORDER BY column_name`.execute(db);
      expect(cols.rows).toEqual([
        { column_name: "max_concurrent_jobs", is_nullable: "YES", column_default: null, data_type: "integer" },
        { column_name: "max_queue_ms", is_nullable: "YES", column_default: null, data_type: "integer" },
        { column_name: "queue_weight", is_nullable: "NO", column_default: "1", data_type: "integer" },
      ]);
      expect(await migrateToLatest(db)).toEqual([]);
    } finally {
      await db.destroy();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  }, 60_000);

  it("applies over existing deployments, which take queue_weight 1 and no caps; down and up again keep working", async () => {
    await m0020.down(untyped(t.db));
    const { defaultDeploymentId } = await createTenant(t.db, { id: "ten_m0020_old", name: "Old", timezone: "UTC", billing_mode: "postpaid" }, { keyId: null });
    await m0020.up(untyped(t.db));
    const found = await findDeploymentWithTenant(t.db, defaultDeploymentId);
    expect(found?.deployment).toMatchObject({ queue_weight: 1, max_concurrent_jobs: null, max_queue_ms: null });
  });

  it.each([
    ["queue_weight", 0],
    ["queue_weight", 101],
    ["max_concurrent_jobs", 0],
    ["max_concurrent_jobs", 100_001],
    ["max_queue_ms", 0],
    ["max_queue_ms", 86_400_001],
  ] as const)("the CHECK constraint refuses %s = %d", async (column, value) => {
    const { defaultDeploymentId } = await createTenant(t.db, { name: `Check ${column} ${value}`, timezone: "UTC", billing_mode: "postpaid" }, { keyId: null });
    await expect(
      t.db
        .updateTable("deployments")
        .set({ [column]: value })
        .where("id", "=", defaultDeploymentId)
        .execute(),
    ).rejects.toThrow(new RegExp(`deployments_${column}_range`));
  });

  it("the bounds themselves are accepted by the constraints", async () => {
    const { tenant } = await createTenant(t.db, { name: "Bounds", timezone: "UTC", billing_mode: "postpaid" }, { keyId: null });
    const low = await createDeployment(t.db, tenant.id, settings({ queue_weight: 1, max_concurrent_jobs: 1, max_queue_ms: 1 }), { keyId: null });
    const high = await createDeployment(t.db, tenant.id, settings({ queue_weight: 100, max_concurrent_jobs: 100_000, max_queue_ms: 86_400_000 }), {
      keyId: null,
    });
    expect(low).toMatchObject({ queue_weight: 1, max_concurrent_jobs: 1, max_queue_ms: 1 });
    expect(high).toMatchObject({ queue_weight: 100, max_concurrent_jobs: 100_000, max_queue_ms: 86_400_000 });
  });
});

describe("deployment scheduling settings in the repository", () => {
  it("create defaults them, update sets and clears them (audited old → new), findDeploymentWithTenant reads them", async () => {
    const { tenant } = await createTenant(t.db, { name: "Repo", timezone: "UTC", billing_mode: "postpaid" }, { keyId: null });
    const created = await createDeployment(t.db, tenant.id, settings(), { keyId: null });
    expect(created).toMatchObject({ queue_weight: 1, max_concurrent_jobs: null, max_queue_ms: null });

    await updateDeployment(t.db, created.id, () => ({ queue_weight: 7, max_concurrent_jobs: 3, max_queue_ms: 60_000 }), { keyId: null }, "deployment.update");
    expect((await findDeploymentWithTenant(t.db, created.id))?.deployment).toMatchObject({ queue_weight: 7, max_concurrent_jobs: 3, max_queue_ms: 60_000 });

    await updateDeployment(t.db, created.id, () => ({ max_concurrent_jobs: null, max_queue_ms: null }), { keyId: null }, "deployment.update");
    expect((await findDeploymentWithTenant(t.db, created.id))?.deployment).toMatchObject({ queue_weight: 7, max_concurrent_jobs: null, max_queue_ms: null });

    const audit = await t.db
      .selectFrom("audit_log")
      .select(["before", "after"])
      .where("target_id", "=", created.id)
      .where("action", "=", "deployment.update")
      .orderBy("id")
      .execute();
    expect(audit.map((a) => [a.before, a.after])).toMatchObject([
      [
        { queue_weight: 1, max_concurrent_jobs: null, max_queue_ms: null },
        { queue_weight: 7, max_concurrent_jobs: 3, max_queue_ms: 60_000 },
      ],
      [
        { queue_weight: 7, max_concurrent_jobs: 3, max_queue_ms: 60_000 },
        { queue_weight: 7, max_concurrent_jobs: null, max_queue_ms: null },
      ],
    ]);
  });
});
