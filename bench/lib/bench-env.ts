import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ModelCatalog, ModelEntry } from "@switchyard/contracts";

/** An integer option from the environment (unset or blank: `def`); anything else is an error naming it. */
export function envInt(name: string, def: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

/** A bench's one-model catalog in a temp dir (remove `dir` when done); `MODEL_CATALOG_PATH=file` for the stack. */
export function writeOneModelCatalog(
  entry: Omit<ModelEntry, "tier" | "capabilities" | "context_window"> & Partial<ModelEntry>,
  tag: string,
): { file: string; dir: string } {
  const catalog: ModelCatalog = {
    default_model: entry.id,
    models: [{ tier: "flash", capabilities: { vision: false, long_context: false }, context_window: 128_000, ...entry }],
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), `sy-bench-${tag}-`));
  const file = path.join(dir, "models.json");
  writeFileSync(file, JSON.stringify(catalog, null, 2));
  return { file, dir };
}

/**
 * {@link writeOneModelCatalog} of one simulated model that answers like an interactive model
 * (20 ms to its first token, 400 tokens/s): the batch and fairness benches' model.
 */
export const writeSimulatedCatalog = (id: string, tag: string): { file: string; dir: string } =>
  writeOneModelCatalog(
    {
      id,
      provider: "simulated",
      upstream_model: id,
      max_output_tokens: 4096,
      pricing: { input: 1, output: 2, cached_input: 0 },
      simulated: { ttft_ms: 20, tokens_per_second: 400, failure_rate: 0 },
    },
    tag,
  );

/** Write a bench's result as JSON to `out` (directories made) and say where, relative to `root`. */
export function writeResult(out: string, result: unknown, root: string): void {
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
  process.stdout.write(`\nwrote ${path.relative(root, out)}\n`);
}

/** Run a bench's main and exit: 0 when it resolved, 1 (with the stack trace) when it threw. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
