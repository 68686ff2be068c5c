/**
 * The migrations on PGlite (the embedded default, served by scripts/pglite-server.ts as a real
 * process): an empty data folder migrates to the latest, and migration 0020's scheduling columns
 * (issue 18) are there with their defaults and CHECK constraints.
 */
import { createDb, createTenant, findDeploymentWithTenant, migrateToLatest } from "@switchyard/db";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { repoRoot } from "./lib/paths";
import { Supervisor, type SupervisedChild } from "./lib/supervisor";
import { tsxCommand } from "./lib/tsx-command";

let dir: string;
let server: SupervisedChild;
let url: string;
let output = "";
const supervisor = new Supervisor({ write: (t) => (output += t), color: false });

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "pglite-migrations-"));
  const { command, args } = tsxCommand(path.join(repoRoot, "scripts", "pglite-server.ts"));
  server = supervisor.spawn({
    name: "pglite",
    command,
    args,
    env: { ...process.env, PGLITE_PORT: "0", PGLITE_DATA_DIR: path.join(dir, "pglite"), PGLITE_MAX_CONNECTIONS: "8" },
  });
  const m = await server.waitForLine(/^pglite ready on (\S+):(\d+)/, 120_000);
  url = `postgres://postgres@${m[1]}:${m[2]}/postgres`;
}, 130_000);

afterAll(async () => {
  await supervisor.stopAll(supervisor.children, 5000);
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

test("an empty PGlite database migrates to the latest; deployments get queue_weight 1 and no caps, and the CHECKs hold", async () => {
  const db = createDb({ connectionString: url, max: 2 });
  try {
    const applied = await migrateToLatest(db);
    expect(applied).toContain("0020-deployment-scheduling");
    expect(await migrateToLatest(db)).toEqual([]);
    const { defaultDeploymentId } = await createTenant(db, { name: "PGlite", timezone: "UTC", billing_mode: "postpaid" }, { keyId: null });
    expect((await findDeploymentWithTenant(db, defaultDeploymentId))?.deployment).toMatchObject({
      queue_weight: 1,
      max_concurrent_jobs: null,
      max_queue_ms: null,
    });
    await db
      .updateTable("deployments")
      .set({ queue_weight: 100, max_concurrent_jobs: 100_000, max_queue_ms: 86_400_000 })
      .where("id", "=", defaultDeploymentId)
      .execute();
    for (const [column, value] of [
      ["queue_weight", 101],
      ["max_concurrent_jobs", 0],
      ["max_queue_ms", 86_400_001],
    ] as const) {
      await expect(
        db
          .updateTable("deployments")
          .set({ [column]: value })
          .where("id", "=", defaultDeploymentId)
          .execute(),
      ).rejects.toThrow(new RegExp(`deployments_${column}_range`));
    }
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- pglite output ---\n${output}`, { cause: err });
  } finally {
    await db.destroy();
  }
}, 120_000);
