import type { Database } from "@switchyard/db";
import { sql, type Kysely, type RawBuilder } from "kysely";

/** How `chunks.embedding` is stored: pgvector's `vector`, or `real[]` on a server without the extension. */
export type EmbeddingStorage = "vector" | "real[]";

const cache = new WeakMap<object, Promise<EmbeddingStorage>>();

/**
 * The type of `chunks.embedding`, read from the catalog (migration 0004 chose it by whether
 * `CREATE EXTENSION vector` worked) and cached per kysely instance. The column, not
 * `pg_extension`, is the truth: an extension installed after the migration does not change it.
 */
export function embeddingStorage(db: Kysely<Database>): Promise<EmbeddingStorage> {
  let found = cache.get(db);
  if (!found) {
    found = sql<{ type: string }>`
      SELECT format_type(a.atttypid, a.atttypmod) AS type
      FROM pg_attribute a
      WHERE a.attrelid = to_regclass('chunks') AND a.attname = 'embedding' AND NOT a.attisdropped
    `
      .execute(db)
      .then((r) => {
        const type = r.rows[0]?.type;
        if (type === undefined) throw new Error("chunks.embedding not found: run the database migrations (0004-rag)");
        return type === "real[]" ? "real[]" : "vector";
      });
    found.catch(() => cache.delete(db));
    cache.set(db, found);
  }
  return found;
}

/** Shortest text of a float that survives float4 storage; NaN and ±Infinity are refused (neither type can rank them). */
function num(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError("embedding holds a non-finite number");
  return String(Number(x.toPrecision(8)));
}

/** A vector as its SQL value for the column type: `'[…]'::vector` or `'{…}'::real[]`. */
export function embeddingValue(storage: EmbeddingStorage, v: readonly number[]): RawBuilder<string> {
  const body = v.map(num).join(",");
  return storage === "vector" ? sql<string>`${`[${body}]`}::vector` : sql<string>`${`{${body}}`}::real[]`;
}
