import { Migrator, type Kysely, type Migration, type MigrationProvider } from "kysely";
import * as m0001 from "./migrations/0001-initial";
import * as m0002 from "./migrations/0002-tenancy";
import * as m0003 from "./migrations/0003-ledger";
import * as m0004 from "./migrations/0004-rag";
import * as m0005 from "./migrations/0005-usage-dead-letters";
import * as m0006 from "./migrations/0006-responses";
import * as m0007 from "./migrations/0007-job-attempts";
import * as m0010 from "./migrations/0010-job-feedback";
import * as m0011 from "./migrations/0011-rag-indexes";
import * as m0012 from "./migrations/0012-audit-filters";
import * as m0013 from "./migrations/0013-jobs-list";
import * as m0014 from "./migrations/0014-usage-end-users";
import * as m0015 from "./migrations/0015-files";
import * as m0016 from "./migrations/0016-batches";
import * as m0017 from "./migrations/0017-batch-budget";
import * as m0018 from "./migrations/0018-batch-usage-index";
import * as m0019 from "./migrations/0019-batch-line-admissions";
import * as m0020 from "./migrations/0020-deployment-scheduling";
import * as m0021 from "./migrations/0021-file-expiry";
import * as m0022 from "./migrations/0022-rag-halfvec-index";

/** Every migration, in order. Static so no file-system scan is needed at run time. */
const migrations: Record<string, Migration> = {
  "0001-initial": m0001,
  "0002-tenancy": m0002,
  "0003-ledger": m0003,
  "0004-rag": m0004,
  "0005-usage-dead-letters": m0005,
  "0006-responses": m0006,
  "0007-job-attempts": m0007,
  "0010-job-feedback": m0010,
  "0011-rag-indexes": m0011,
  "0012-audit-filters": m0012,
  "0013-jobs-list": m0013,
  "0014-usage-end-users": m0014,
  "0015-files": m0015,
  "0016-batches": m0016,
  "0017-batch-budget": m0017,
  "0018-batch-usage-index": m0018,
  "0019-batch-line-admissions": m0019,
  "0020-deployment-scheduling": m0020,
  "0021-file-expiry": m0021,
  "0022-rag-halfvec-index": m0022,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Apply pending migrations; throws with the failing migration's name. Concurrent callers are serialised by kysely's lock. */
export async function migrateToLatest<T>(db: Kysely<T>): Promise<string[]> {
  const migrator = new Migrator({ db: db as Kysely<unknown>, provider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error) throw new Error(`migration ${failed?.migrationName ?? "?"} failed: ${(error as Error).message}`, { cause: error });
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

/** Names of migrations not yet applied (readiness check). */
export async function pendingMigrations<T>(db: Kysely<T>): Promise<string[]> {
  const migrator = new Migrator({ db: db as Kysely<unknown>, provider });
  const all = await migrator.getMigrations();
  return all.filter((m) => !m.executedAt).map((m) => m.name);
}
