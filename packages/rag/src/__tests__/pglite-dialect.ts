import type { PGlite } from "@electric-sql/pglite";
import type { Database } from "@switchyard/db";
import { Kysely, PostgresDialect, type PostgresCursor, type PostgresPool, type PostgresPoolClient, type PostgresQueryResult } from "kysely";

const DML = /^\s*(insert|update|delete|merge)\b/i;

/** One PGlite session as a pg-style client (kysely's PostgresDialect speaks to it unchanged). */
class PgliteClient implements PostgresPoolClient {
  constructor(
    private readonly pg: PGlite,
    readonly release: () => void,
  ) {}

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(sqlOrCursor: string | PostgresCursor<R>, parameters: ReadonlyArray<unknown> = []): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof sqlOrCursor !== "string") throw new Error("PGlite test dialect: cursors (streaming) are not supported");
    const dml = DML.exec(sqlOrCursor)?.[1]?.toUpperCase() as "INSERT" | "UPDATE" | "DELETE" | "MERGE" | undefined;
    // Like node-postgres: without parameters the simple protocol, which allows several statements (migrations).
    const run = parameters.length === 0 ? this.pg.exec(sqlOrCursor).then((all) => all[all.length - 1]) : this.pg.query<R>(sqlOrCursor, [...parameters]);
    return run.then((r) => ({ command: dml ?? "SELECT", rowCount: r?.affectedRows ?? r?.rows.length ?? 0, rows: (r?.rows ?? []) as R[] }));
  }
}

/**
 * PGlite is a single session, so the "pool" hands it to one holder at a time (a transaction
 * keeps it until released); concurrent kysely calls queue, as they would on a pool of one.
 */
class PglitePool implements PostgresPool {
  private tail: Promise<void> = Promise.resolve();
  constructor(private readonly pg: PGlite) {}

  async connect(): Promise<PostgresPoolClient> {
    let release!: () => void;
    const previous = this.tail;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    let released = false;
    return new PgliteClient(this.pg, () => {
      if (!released) {
        released = true;
        release();
      }
    });
  }

  async end(): Promise<void> {
    await this.pg.close();
  }
}

/** A kysely instance over an open PGlite (kysely's own PostgresDialect, with PGlite as its one-connection pool). */
export function pgliteKysely(pg: PGlite): Kysely<Database> {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: new PglitePool(pg) }) });
}
