/**
 * Renders infra/prometheus/alerts.yml from alerts.template.yml with the alert thresholds of
 * thresholds.json, overridden by `--set Name=value` (repeatable) and `--file overrides.json`
 * (`{"Name": value}`; or the file named by $SWITCHYARD_ALERT_OVERRIDES), so thresholds change
 * without editing YAML by hand:
 *
 *   pnpm alerts:render                                   # alerts.yml from the defaults
 *   pnpm alerts:render -- --set AuthFailuresHigh=20 --out /etc/prometheus/rules/alerts.yml
 *   pnpm alerts:render -- --file ops/thresholds.prod.json --out -      # to stdout
 *   pnpm alerts:render -- --check                        # exit 1 if alerts.yml is not the defaults' render
 *
 * In the template a threshold is `${Name}`; `${Name|percent}` writes a ratio as per cent (0.01 →
 * 1) and `${Name|ms}` seconds as milliseconds, for the alerts' descriptions. Every name in the
 * template must be in thresholds.json and every threshold used; a value must be a positive number
 * (at most `max`, and below the threshold named by `below`).
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

const DIR = path.resolve(__dirname, "../infra/prometheus");
export const TEMPLATE_PATH = path.join(DIR, "alerts.template.yml");
export const THRESHOLDS_PATH = path.join(DIR, "thresholds.json");
export const ALERTS_PATH = path.join(DIR, "alerts.yml");

/** One threshold of thresholds.json: its default, what it measures, and its bounds. */
export interface Threshold {
  value: number;
  means: string;
  /** Largest value allowed (ratios: 1). */
  max?: number;
  /** A threshold this one must stay below (the lower band of a two-level alert). */
  below?: string;
}

const PLACEHOLDER = /\$\{([A-Za-z0-9_.]+)(?:\|(percent|ms))?\}/g;

/** thresholds.json, checked: every entry a positive number with a description. */
export function loadThresholds(file = THRESHOLDS_PATH): Record<string, Threshold> {
  const raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, Threshold>;
  for (const [name, t] of Object.entries(raw)) {
    if (typeof t?.value !== "number" || typeof t.means !== "string") throw new Error(`${file}: ${name} needs a numeric "value" and a "means"`);
  }
  return raw;
}

/** Overrides from `Name=value` strings and a JSON file of `{"Name": value}` (later ones win). */
export function parseOverrides(sets: readonly string[], file?: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (file) {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as unknown;
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error(`${file}: expected a JSON object of {"AlertName": threshold}`);
    for (const [name, v] of Object.entries(parsed)) {
      if (typeof v !== "number") throw new Error(`${file}: ${name} must be a number, got ${JSON.stringify(v)}`);
      out[name] = v;
    }
  }
  for (const s of sets) {
    const m = /^([^=\s]+)=(.+)$/.exec(s);
    const n = m ? Number(m[2]) : NaN;
    if (!m || m[2]!.trim() === "" || !Number.isFinite(n)) throw new Error(`--set ${s}: expected Name=number, e.g. AuthFailuresHigh=20`);
    out[m[1]!] = n;
  }
  return out;
}

/** The thresholds to render: the defaults with `overrides` applied, each checked against its bounds. */
export function resolveThresholds(defaults: Record<string, Threshold>, overrides: Record<string, number> = {}): Record<string, number> {
  const values: Record<string, number> = {};
  for (const [name, t] of Object.entries(defaults)) values[name] = t.value;
  for (const [name, v] of Object.entries(overrides)) {
    if (!(name in defaults)) throw new Error(`unknown threshold ${name}; known: ${Object.keys(defaults).join(", ")}`);
    values[name] = v;
  }
  for (const [name, t] of Object.entries(defaults)) {
    const v = values[name]!;
    if (!(v > 0)) throw new Error(`${name} must be above 0, got ${v}`);
    if (t.max !== undefined && v > t.max) throw new Error(`${name} must be at most ${t.max} (${t.means}), got ${v}`);
    if (t.below !== undefined && !(v < values[t.below]!)) throw new Error(`${name} (${v}) must be below ${t.below} (${values[t.below]})`);
  }
  return values;
}

/** Plain decimal, without binary noise (0.2 * 100 is 20, not 20.000000000000004). */
const num = (n: number) => String(Number(n.toPrecision(12)));

/** The template with every `${Name}` (and `|percent`, `|ms`) replaced; throws on a name it has no value for, or a value it never uses. */
export function renderAlerts(template: string, values: Readonly<Record<string, number>>): string {
  const used = new Set<string>();
  const out = template.replace(PLACEHOLDER, (_m, name: string, format?: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`alerts.template.yml uses \${${name}}, which thresholds.json does not define`);
    used.add(name);
    return num(format === "percent" ? v * 100 : format === "ms" ? v * 1000 : v);
  });
  const unused = Object.keys(values).filter((n) => !used.has(n));
  if (unused.length) throw new Error(`thresholds.json defines ${unused.join(", ")}, which alerts.template.yml never uses`);
  if (out.includes("${"))
    throw new Error(`alerts.template.yml has a malformed placeholder near ${JSON.stringify(out.slice(out.indexOf("${"), out.indexOf("${") + 40))}`);
  return out;
}

function main(argv: string[], env: NodeJS.ProcessEnv): number {
  const { values: f } = parseArgs({
    args: argv,
    options: { set: { type: "string", multiple: true }, file: { type: "string" }, out: { type: "string" }, check: { type: "boolean" } },
    strict: true,
    allowPositionals: false,
  });
  const defaults = loadThresholds();
  const template = readFileSync(TEMPLATE_PATH, "utf8");
  if (f.check) {
    const expected = renderAlerts(template, resolveThresholds(defaults));
    if (readFileSync(ALERTS_PATH, "utf8") === expected) return 0;
    process.stderr.write(
      `${path.relative(process.cwd(), ALERTS_PATH)} is not the render of alerts.template.yml with thresholds.json: run pnpm alerts:render\n`,
    );
    return 1;
  }
  const rendered = renderAlerts(template, resolveThresholds(defaults, parseOverrides(f.set ?? [], f.file ?? (env.SWITCHYARD_ALERT_OVERRIDES || undefined))));
  const out = f.out ?? ALERTS_PATH;
  if (out === "-") process.stdout.write(rendered);
  else {
    writeFileSync(out, rendered);
    process.stderr.write(`wrote ${out}\n`);
  }
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(
      process.argv.slice(2).filter((a) => a !== "--"),
      process.env,
    );
  } catch (err) {
    process.stderr.write(`render-alerts: ${(err as Error).message}\n`);
    process.exitCode = 2;
  }
}
