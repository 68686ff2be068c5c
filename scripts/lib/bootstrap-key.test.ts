import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { BootstrapKeyError, chooseBootstrapKey, readBootstrapKeyFile, saveBootstrapKeyFile } from "./bootstrap-key";

const VALID = /^sy_live_[a-z0-9]{16,32}_[A-Za-z0-9]{32,64}$/;
const KEY_A = `sy_live_${"a".repeat(20)}_${"A".repeat(40)}`;
const KEY_B = `sy_live_${"b".repeat(20)}_${"B".repeat(40)}`;
const KEY_NEW = `sy_live_${"c".repeat(20)}_${"C".repeat(40)}`;

describe("bootstrap key", () => {
  let dir: string;
  let file: string;
  const choose = (env: NodeJS.ProcessEnv = {}) => chooseBootstrapKey({ env, file, isValid: (k) => VALID.test(k), generate: () => KEY_NEW });

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "bootstrap-key-"));
    file = path.join(dir, "nested", "bootstrap-key");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("prefers SWITCHYARD_BOOTSTRAP_KEY over a saved key", () => {
    saveBootstrapKeyFile(file, KEY_A);
    expect(choose({ SWITCHYARD_BOOTSTRAP_KEY: ` ${KEY_B}\n` })).toEqual({ key: KEY_B, source: "env" });
  });

  it("rejects a malformed SWITCHYARD_BOOTSTRAP_KEY", () => {
    expect(() => choose({ SWITCHYARD_BOOTSTRAP_KEY: "hunter2" })).toThrow(BootstrapKeyError);
  });

  it("uses the saved key when the env has none", () => {
    saveBootstrapKeyFile(file, KEY_A);
    expect(choose({ SWITCHYARD_BOOTSTRAP_KEY: "" })).toEqual({ key: KEY_A, source: "file" });
  });

  it("generates a key when there is neither", () => {
    expect(choose()).toEqual({ key: KEY_NEW, source: "generated" });
    expect(readBootstrapKeyFile(file)).toBeUndefined();
  });

  it("refuses a key file with junk, naming the file", () => {
    saveBootstrapKeyFile(file, "not a key");
    expect(() => choose()).toThrow(file);
  });

  it("saves with mode 0600, creating the folder, and tightens an existing file", () => {
    saveBootstrapKeyFile(file, KEY_A);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).toBe(`${KEY_A}\n`);
    chmodSync(file, 0o644);
    saveBootstrapKeyFile(file, KEY_B);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readBootstrapKeyFile(file)).toBe(KEY_B);
  });

  it("warns when a saved key is readable by others", () => {
    saveBootstrapKeyFile(file, KEY_A);
    chmodSync(file, 0o644);
    expect(choose().warning).toMatch(/chmod 600/);
  });

  it("treats an empty key file as absent", () => {
    saveBootstrapKeyFile(file, KEY_A);
    writeFileSync(file, "\n");
    expect(readBootstrapKeyFile(file)).toBeUndefined();
  });
});
