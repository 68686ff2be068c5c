import { spawn } from "node:child_process";
import path from "node:path";

/** Run run-app.fixture.ts as the apps run (one node process with tsx's loader); `signal` once it has started. */
function runFixture(mode: string, signal?: NodeJS.Signals): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "run-app.fixture.ts")], {
      env: { ...process.env, FIXTURE: mode },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    let signalled = false;
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (signal && !signalled && out.includes("started\n")) signalled = child.kill(signal);
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.once("exit", (code) => resolve({ code, out, err }));
  });
}

test.each(["SIGTERM", "SIGINT"] as const)("%s closes what the app started, then exits 0", async (signal) => {
  const r = await runFixture("ok", signal);
  expect(r.code).toBe(0);
  expect(r.out.split("\n").filter(Boolean).sort()).toEqual(["closed a", "closed b", "started"]);
});

test("a shutdown that fails exits 1 (what else was started is still closed)", async () => {
  const r = await runFixture("fail-close", "SIGTERM");
  expect(r.code).toBe(1);
  expect(r.out).toContain("closed a");
});

test.each([
  ["fail-start", "fixture-app failed to start: redis is not there"],
  ["bad-env", "fixture-app failed to start: invalid environment: PORT must be a number"],
])("a start that fails (%s) exits 1 naming the app and the reason", async (mode, message) => {
  const r = await runFixture(mode);
  expect(r.code).toBe(1);
  expect(r.err).toContain(message);
  expect(r.out).not.toContain("started");
});
