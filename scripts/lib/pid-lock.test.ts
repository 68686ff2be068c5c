import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { acquirePidLock } from "./pid-lock";

describe("acquirePidLock", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "pid-lock-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses a lock held by a live process and releases only its own", () => {
    const file = path.join(dir, "x.lock");
    const lock = acquirePidLock(file);
    // Our parent is alive and is not us: a second holder.
    expect(() => acquirePidLock(file, process.ppid)).toThrow(new RegExp(`held by running process ${process.pid}`));
    lock.release();
    expect(existsSync(file)).toBe(false);
  });

  it("takes over a lock left by a dead process", () => {
    const file = path.join(dir, "x.lock");
    writeFileSync(file, "2147483646\n"); // no such pid
    acquirePidLock(file).release();
    const again = acquirePidLock(file);
    expect(readFileSync(file, "utf8").trim()).toBe(String(process.pid));
    again.release();
  });
});
