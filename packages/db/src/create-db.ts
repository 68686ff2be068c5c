import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { Database } from "./schema";

// bigint (int8) comes back as string by default; counts we keep fit in a double.
pg.types.setTypeParser(20, (v) => Number(v));

export interface DbOptions {
  connectionString: string;
  /** Pool size. Default 10. */
  max?: number;
  /** Called on idle-client errors (e.g. Postgres restarted) instead of crashing the process. */
  onError?: (err: Error) => void;
}

/** The schema holding every table, type and function of the app. */
export const APP_SCHEMA = "public";

/** Each database handle's pool, for its figures (`poolStats`). */
const pools = new WeakMap<object, pg.Pool>();

/** A connection pool's figures, as `/health/db` and the `db_pool_*` metrics show them. */
export interface PoolStats {
  /** Connections open (idle and checked out). */
  total: number;
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
  max: number;
}

/** The figures of a handle made by {@link createDb}; undefined for any other (a test's PGlite, say). */
export function poolStats(db: Kysely<Database>): PoolStats | undefined {
  const pool = pools.get(db);
  return pool && { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: pool.options.max ?? 10 };
}

/** A kysely instance over a `pg` pool. The pool reconnects on its own after Postgres comes back. */
export function createDb(opts: DbOptions): Kysely<Database> {
  const pool = new pg.Pool({ connectionString: opts.connectionString, max: opts.max ?? 10, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 });
  pool.on("error", (err) => opts.onError?.(err));
  pool.on("connect", (client) => {
    // A connection that dies while checked out emits "error" on its client; without a listener
    // that would crash the process instead of failing the one query.
    client.on("error", (err) => opts.onError?.(err));
    // Every table of the app is in `public`: pinned per session, ahead of any query on it, so a
    // database or role default (or a tool's `SET search_path = ''` on a shared session: the
    // PGlite multiplexer replays each client's own settings) never changes what a name means.
    client.query(`SET search_path TO ${APP_SCHEMA}`).catch((err: Error) => opts.onError?.(err));
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  pools.set(db, pool);
  return db;
}
