import type { CliContext } from "./command";

/** `label  value` lines with the values aligned; `null`/`undefined` values print as `-`. */
export function fields(pairs: ReadonlyArray<readonly [string, string | number | boolean | null | undefined]>): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${v === null || v === undefined || v === "" ? "-" : String(v)}`).join("\n");
}

/** A text table: a header row, then one row per item, columns padded to their widest cell. */
export function table(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null | undefined>>): string {
  const cells = [header.map(String), ...rows.map((r) => r.map((c) => (c === null || c === undefined || c === "" ? "-" : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n");
}

/** USD with at least 2 and at most 6 decimals (credits can be fractions of a cent): `$12.50`, `-$0.000123`. */
export function usd(n: number): string {
  const abs = Math.abs(n)
    .toFixed(6)
    .replace(/0{1,4}$/, "");
  return `${n < 0 ? "-" : ""}$${abs}`;
}

/** Print a command's result: the API's JSON as one document with `--json`, else the text. */
export function output(ctx: CliContext, json: boolean | undefined, body: unknown, text: () => string): void {
  ctx.stdout.write(json ? `${JSON.stringify(body)}\n` : `${text()}\n`);
}
