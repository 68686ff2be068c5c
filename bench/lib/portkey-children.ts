/**
 * The child processes of `bench/portkey-compare.ts` (the mock upstream, Portkey): spawned with
 * their output kept, waited for until they answer, stopped with a grace period, and the set of
 * those still running, which the bench stops (or kills) whichever way it exits.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { freePort } from "@switchyard/testkit";
import { PORTKEY_DIR, REPO_ROOT } from "./portkey-config";

export interface Child {
  label: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<unknown>;
}

export const children = new Set<Child>();

/** Spawns a child whose output is kept (last 64 kB) and which is killed when the bench exits. */
export function spawnChild(label: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Child {
  const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 65_536) out = out.slice(-65_536);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const c: Child = { label, child, output: () => out, exited };
  children.add(c);
  void exited.then(() => children.delete(c));
  return c;
}

export async function stopChild(c: Child, graceMs = 5000): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return;
  c.child.kill("SIGTERM");
  const gone = await Promise.race([c.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs).unref())]);
  if (!gone) c.child.kill("SIGKILL");
}

export async function waitFor(what: string, c: Child, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (c.child.exitCode !== null || c.child.signalCode !== null) throw new Error(`${what} exited before it was ready:\n${c.output().slice(-2000)}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready within ${timeoutMs} ms:\n${c.output().slice(-2000)}`);
}

/** Portkey as `npx @portkey-ai/gateway` starts it (its bin under node), on a free loopback port. */
export async function startPortkey(): Promise<{ child: Child; url: string; version: string }> {
  const pkg = JSON.parse(readFileSync(path.join(PORTKEY_DIR, "package.json"), "utf8")) as { version: string; bin: string | Record<string, string> };
  const bin = typeof pkg.bin === "string" ? pkg.bin : Object.values(pkg.bin)[0]!;
  const port = await freePort();
  // --headless: no log-viewer UI and no console spinner; the request path is the same.
  const c = spawnChild("portkey", process.execPath, [path.join(PORTKEY_DIR, bin), `--port=${port}`, "--headless"]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor("portkey", c, async () => (await fetch(`${url}/`, { signal: AbortSignal.timeout(2000) })).ok, 30_000);
  return { child: c, url, version: pkg.version };
}
