/**
 * `switchyard deployments update … --queue-weight/--max-concurrent-jobs/--max-queue-ms` as a real
 * child process against a real gateway: the settings reach the deployment (and its audit row),
 * `none` clears a cap, `get` prints them, and a bad value is exit 2 before any request.
 */
import { startStack, writeTestCatalog, type Stack } from "@switchyard/testkit";
import { okOutput, runCli } from "./cli-process.test-helpers";

let s: Stack;

const switchyard = (args: string[]) => runCli(args, { SWITCHYARD_URL: s.url, SWITCHYARD_ADMIN_KEY: s.key });
const ok = async (args: string[]) => okOutput(args, await switchyard(args));

beforeAll(async () => {
  s = await startStack({ apps: ["gateway"], env: { MODEL_CATALOG_PATH: writeTestCatalog() } });
}, 180_000);
afterAll(async () => {
  await s?.stop();
});

test("deployments update sets queue_weight, max_concurrent_jobs and max_queue_ms; none clears; get shows them", async () => {
  const t = await ok(["tenants", "create", "Sched CLI", "--json"]);
  const created = await ok(["deployments", "create", t.id, "fair", "--type", "internal", "--json"]);
  expect(created).toMatchObject({ queue_weight: 1, max_concurrent_jobs: null, max_queue_ms: null });

  const set = await ok(["deployments", "update", created.id, "--queue-weight", "25", "--max-concurrent-jobs", "8", "--max-queue-ms", "120000", "--json"]);
  expect(set).toMatchObject({ id: created.id, queue_weight: 25, max_concurrent_jobs: 8, max_queue_ms: 120_000 });
  const shown = await ok(["deployments", "get", created.id]);
  expect(shown.text).toMatch(/^queue_weight +25$/m);
  expect(shown.text).toMatch(/^max_concurrent_jobs +8$/m);
  expect(shown.text).toMatch(/^max_queue_ms +120000$/m);

  const cleared = await ok(["deployments", "update", created.id, "--max-concurrent-jobs", "none", "--max-queue-ms", "none"]);
  expect(cleared.text).toMatch(new RegExp(`^updated deployment ${created.id}\\n`));
  expect(cleared.text).toMatch(/^queue_weight +25$/m);
  expect(cleared.text).toMatch(/^max_concurrent_jobs +unlimited$/m);
  expect(cleared.text).toMatch(/^max_queue_ms +none$/m);

  // Each change is an audit row with the old and the new values.
  const audit = await s.database.db
    .selectFrom("audit_log")
    .select(["before", "after"])
    .where("target_id", "=", created.id)
    .where("action", "=", "deployment.update")
    .orderBy("id")
    .execute();
  expect(audit).toMatchObject([
    { before: { queue_weight: 1, max_concurrent_jobs: null, max_queue_ms: null }, after: { queue_weight: 25, max_concurrent_jobs: 8, max_queue_ms: 120_000 } },
    { before: { queue_weight: 25, max_concurrent_jobs: 8, max_queue_ms: 120_000 }, after: { queue_weight: 25, max_concurrent_jobs: null, max_queue_ms: null } },
  ]);

  const bad = await switchyard(["deployments", "update", created.id, "--queue-weight", "500"]);
  expect(bad).toMatchObject({ code: 2, stdout: "" });
  expect(bad.stderr).toContain("--queue-weight must be at most 100, got 500");
  const missing = await switchyard(["deployments", "update", "dep_nope", "--queue-weight", "2"]);
  expect(missing).toMatchObject({ code: 1, stderr: "switchyard: no deployment dep_nope (404 deployment_not_found)\n" });
  expect(await ok(["deployments", "get", created.id, "--json"])).toMatchObject({ queue_weight: 25, max_concurrent_jobs: null, max_queue_ms: null });
}, 180_000);
