/**
 * Standalone embedded Postgres: PGlite (Postgres compiled to WASM) with its data in
 * `<data dir>/pglite`, served over the Postgres wire protocol so that several processes (each with
 * a `pg` Pool) can share it. Serving is done by our {@link PgliteMultiplexer}, not by
 * `@electric-sql/pglite-socket`'s server, whose multiplexer (0.2.17) mixes up concurrent
 * parameterised queries (see lib/pglite-multiplexer.ts).
 *
 * Run: `tsx scripts/pglite-server.ts`. Environment:
 * - `PGLITE_PORT` (default 54329; 0 picks a free port), `PGLITE_HOST` (default 127.0.0.1)
 * - `PGLITE_DATA_DIR` (default `<SWITCHYARD_DATA_DIR or .data>/pglite`)
 * - `PGLITE_MAX_CONNECTIONS` concurrent client connections (default 100)
 * - `PGLITE_VECTOR` load pgvector (default true; when it cannot load, the server runs without it)
 * - `PGLITE_IDLE_IN_TRANSACTION_TIMEOUT_MS` close a client idle inside a transaction (default 60000)
 * - `PGLITE_CONTENDED_IDLE_TIMEOUT_MS` the same while other clients wait for the session (default 2000)
 * - `PGLITE_DEBUG` log connection problems and recoveries (default false)
 * - `PGLITE_MULTIPLEXER=pglite-socket` serve with the package's own server instead (comparison only)
 *
 * Prints `pglite ready on <host>:<port> …` once clients can connect. SIGTERM/SIGINT (or the parent
 * closing the IPC channel, when started with one) stop the listener and close the database so
 * every write reaches disk.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { PGlite, type Extensions } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { btree_gin } from "@electric-sql/pglite/contrib/btree_gin";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { dataDir, displayPath } from "./lib/paths";
import { envFlag, envInteger, envPort, envString } from "./lib/env-values";
import { acquirePidLock } from "./lib/pid-lock";
import { PgliteMultiplexer } from "./lib/pglite-multiplexer";

/** Options of {@link startPgliteServer}. */
export interface PgliteServerOptions {
  /** Folder holding the database files. */
  dataDir: string;
  /** Listen host (default 127.0.0.1). */
  host?: string;
  /** Listen port; 0 picks a free one (default 54329). */
  port?: number;
  /** Concurrent client connections the multiplexer accepts (default 100). */
  maxConnections?: number;
  /** Try to load and enable pgvector (default true). */
  vector?: boolean;
  /** Close a connection idle while holding the session this long (ms, default 60 000; 0 = never). */
  idleInTransactionTimeoutMs?: number;
  /** The same while other clients wait for the session (ms, default 2000; 0 = no shorter limit). */
  contendedIdleTimeoutMs?: number;
  /** Log connection problems and recoveries (default false). */
  debug?: boolean;
  /**
   * `own` (default): {@link PgliteMultiplexer}. `pglite-socket`: the package's PGLiteSocketServer,
   * kept only to re-check upstream fixes with scripts/pglite-check.ts (it mixes up concurrent
   * parameterised queries in 0.2.17).
   */
  multiplexer?: "own" | "pglite-socket";
  /** Where progress lines go (default stderr). */
  log?: (line: string) => void;
}

/** A running PGlite socket server. */
export interface PgliteServerHandle {
  host: string;
  port: number;
  /** Whether the `vector` extension is installed in the database. */
  vector: boolean;
  /** Stop accepting connections and close the database (flushes to disk). */
  close(): Promise<void>;
}

async function openDatabase(dir: string, wantVector: boolean, log: (line: string) => void): Promise<{ db: PGlite; vector: boolean }> {
  if (wantVector) {
    let db: PGlite | undefined;
    try {
      // btree_gin: migration 0011 puts tenant and collection into the full-text GIN index with it.
      const extensions: Extensions = { vector, btree_gin };
      db = await PGlite.create({ dataDir: dir, extensions });
      await db.exec("CREATE EXTENSION IF NOT EXISTS vector");
      return { db, vector: true };
    } catch (err) {
      log(`pgvector unavailable, continuing without it: ${err instanceof Error ? err.message : String(err)}`);
      await db?.close().catch(() => undefined);
    }
  }
  return { db: await PGlite.create({ dataDir: dir, extensions: { btree_gin } }), vector: false };
}

/** The same listen/close surface over pglite-socket's server, for comparison runs. */
function upstreamServer(db: PGlite, opts: PgliteServerOptions): { listen(): Promise<{ host: string; port: number }>; close(): Promise<void> } {
  const server = new PGLiteSocketServer({ db, host: opts.host ?? "127.0.0.1", port: opts.port ?? 54329, maxConnections: opts.maxConnections ?? 100 });
  return {
    async listen() {
      await server.start();
      const conn = server.getServerConn();
      const colon = conn.lastIndexOf(":");
      return { host: conn.slice(0, colon), port: Number(conn.slice(colon + 1)) };
    },
    close: () => server.stop(),
  };
}

/** Open PGlite in `opts.dataDir` and serve it on host:port. */
export async function startPgliteServer(opts: PgliteServerOptions): Promise<PgliteServerHandle> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  mkdirSync(opts.dataDir, { recursive: true });
  // Beside the data folder, not inside it: PGlite owns that folder's contents.
  const lock = acquirePidLock(`${opts.dataDir}.lock`);
  let db: PGlite;
  let hasVector: boolean;
  try {
    ({ db, vector: hasVector } = await openDatabase(opts.dataDir, opts.vector ?? true, log));
  } catch (err) {
    lock.release();
    throw err;
  }
  const server =
    opts.multiplexer === "pglite-socket"
      ? upstreamServer(db, opts)
      : new PgliteMultiplexer({
          db,
          host: opts.host ?? "127.0.0.1",
          port: opts.port ?? 54329,
          maxConnections: opts.maxConnections ?? 100,
          idleInTransactionTimeoutMs: opts.idleInTransactionTimeoutMs ?? 60_000,
          contendedIdleTimeoutMs: opts.contendedIdleTimeoutMs ?? 2000,
          ...(opts.debug ? { log } : {}),
        });
  let addr: { host: string; port: number };
  try {
    addr = await server.listen();
  } catch (err) {
    await db.close();
    lock.release();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    host: addr.host,
    port: addr.port,
    vector: hasVector,
    close() {
      closing ??= (async () => {
        try {
          await server.close();
          await db.close();
        } finally {
          lock.release();
        }
      })();
      return closing;
    },
  };
}

function main(): void {
  const env = process.env;
  const dir = path.resolve(envString(env, "PGLITE_DATA_DIR") ?? path.join(dataDir(env), "pglite"));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const started = Date.now();
  const starting = startPgliteServer({
    dataDir: dir,
    host: envString(env, "PGLITE_HOST") ?? "127.0.0.1",
    port: envPort(env, "PGLITE_PORT", 54329),
    maxConnections: envInteger(env, "PGLITE_MAX_CONNECTIONS", 100, 1, 10_000),
    idleInTransactionTimeoutMs: envInteger(env, "PGLITE_IDLE_IN_TRANSACTION_TIMEOUT_MS", 60_000),
    contendedIdleTimeoutMs: envInteger(env, "PGLITE_CONTENDED_IDLE_TIMEOUT_MS", 2000),
    vector: envFlag(env, "PGLITE_VECTOR", true),
    debug: envFlag(env, "PGLITE_DEBUG", false),
    multiplexer: env.PGLITE_MULTIPLEXER === "pglite-socket" ? "pglite-socket" : "own",
    log,
  });
  // Handlers go in before PGlite opens: a signal during the first start (initdb) must not kill the
  // process halfway through writing the data folder; it waits for the open, then closes.
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`pglite stopping (${why})`);
    starting
      .then((handle) => handle.close())
      .then(
        () => {
          log("pglite stopped");
          process.exit(0);
        },
        (err: unknown) => {
          log(`pglite failed to close cleanly: ${String(err)}`);
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  // Started by the launcher with an IPC channel: when the launcher dies, so do we.
  if (process.send) process.on("disconnect", () => stop("parent gone"));
  starting.then(
    (handle) => {
      if (stopping) return;
      const ms = Date.now() - started;
      const server = env.PGLITE_MULTIPLEXER === "pglite-socket" ? "pglite-socket server, " : "";
      process.stdout.write(
        `pglite ready on ${handle.host}:${handle.port} (data ${displayPath(dir)}, vector ${handle.vector ? "on" : "off"}, ${server}${ms} ms)\n`,
      );
    },
    (err: unknown) => {
      log(`pglite failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
}

if (require.main === module) main();
