import { readFileSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { ModelCatalog } from "@switchyard/contracts";
import type { z } from "zod";

/** Formats a zod issue path the way people write it: `models[3].pricing.input`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : out === "" ? String(key) : `.${String(key)}`;
  return out || "(root)";
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`).join("\n");
}

/** Validates an already-parsed catalog; `source` names it in errors. */
export function parseCatalog(json: unknown, source: string): ModelCatalog {
  const parsed = ModelCatalog.safeParse(json);
  if (!parsed.success) throw new Error(`invalid model catalog ${source}:\n${formatIssues(parsed.error)}`);
  return parsed.data;
}

/**
 * Reads and validates a model catalog JSON file (the default one is `config/models.json`).
 * Errors name the file and every offending field, e.g. `models[2].pricing.input: …`.
 */
export function loadCatalog(path: string): ModelCatalog {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new Error(`cannot read model catalog ${path}: ${(cause as Error).message}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new Error(`model catalog ${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  return parseCatalog(json, path);
}

/** The catalog that ships with Switchyard (`config/models.json` at the repository root). */
export const DEFAULT_CATALOG_PATH: string = resolvePath(__dirname, "../../../config/models.json");
