/**
 * The slice of a zod schema that parsing a row needs: contracts' schemas satisfy it, so this
 * package reads rows through them without depending on zod itself.
 */
export interface RowSchema<T> {
  safeParse(
    value: unknown,
  ): { success: true; data: T } | { success: false; error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> } };
}

/** Where a row came from, for the error a row that does not parse raises. */
export interface RowPlace {
  table: string;
  /** The row's key (its id), so the row can be found and repaired. */
  key: string;
  /** The column parsed, when one column is parsed alone; otherwise the issue's path names it. */
  column?: string;
}

/**
 * A stored row that does not have the shape its contract says (written by hand, by an older
 * version, or damaged). Not retryable: reading it again gives the same row. It names the table,
 * the row's key and the column (and path inside a JSON column), never the stored value. It is not
 * a ZodError on purpose: the gateway maps ZodErrors to 400s that blame the request, whereas this
 * falls through to its 500 `internal_error` (logged in full, shown to the client as "internal error").
 */
export class CorruptRowError extends Error {
  override readonly name = "CorruptRowError";
  readonly code = "corrupt_row";
  readonly retryable = false;
  readonly table: string;
  readonly key: string;
  /** The column (and path within it) of the first problem, e.g. `rate_limits.requests_per_minute`. */
  readonly column: string;

  constructor(place: RowPlace, column: string, problem: string, options?: ErrorOptions) {
    super(`corrupt row in ${place.table} (${place.key}): column ${column}: ${problem}`, options);
    this.table = place.table;
    this.key = place.key;
    this.column = column;
  }
}

/** True for a {@link CorruptRowError}, also one from another copy of this package (by name and code). */
export function isCorruptRowError(err: unknown): err is CorruptRowError {
  return err instanceof Error && err.name === "CorruptRowError" && (err as { code?: unknown }).code === "corrupt_row";
}

/**
 * `value` (a column, or an object of a row's columns) parsed with the contract's schema; a value
 * that does not parse throws a {@link CorruptRowError} naming `place`'s table, key and column.
 */
export function parseRow<T>(schema: RowSchema<T>, value: unknown, place: RowPlace): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = [...(place.column === undefined ? [] : [place.column]), ...(issue?.path ?? []).map(String)];
  const more = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more)` : "";
  throw new CorruptRowError(place, path.join(".") || "(row)", `${issue?.message ?? "does not parse"}${more}`, { cause: r.error });
}
