import net from "node:net";
import type { PGlite } from "@electric-sql/pglite";
import { BackendTracker, errorResponse, FrontendFramer, SYNC_MESSAGE, type FrontendMessage } from "./pg-wire";

/** Options of {@link PgliteMultiplexer}. */
export interface PgliteMultiplexerOptions {
  db: PGlite;
  /** Listen host (default 127.0.0.1). */
  host?: string;
  /** Listen port; 0 picks a free one (default 54329). */
  port?: number;
  /** Connections accepted at once; more get a FATAL 53300 error (default 100). */
  maxConnections?: number;
  /**
   * Close a connection that holds the session (open transaction or unfinished extended query)
   * without sending anything for this long, so one leaked client cannot stall every other
   * (ms, default 60 000; 0 disables). Like Postgres's `idle_in_transaction_session_timeout`.
   */
  idleInTransactionTimeoutMs?: number;
  /**
   * The same, while other clients wait for the session (ms, default 2000; 0 = as above): a client
   * that opened a transaction and went quiet (a forgotten `BEGIN` in psql) stalls the apps for at
   * most this long.
   */
  contendedIdleTimeoutMs?: number;
  /** Diagnostics (default: none). */
  log?: (line: string) => void;
}

/** A client connection as the multiplexer sees it. */
interface Conn {
  id: number;
  socket: net.Socket;
  framer: FrontendFramer;
  queue: FrontendMessage[];
  draining: boolean;
  closed: boolean;
  idleTimer?: NodeJS.Timeout;
  /** It changed session state (SET, set_config, temp tables, LISTEN, advisory locks …) that others must not see. */
  dirty: boolean;
  /** Its session settings, replayed in order whenever it takes the session back after another client. */
  settings: string[];
}

/** Statements that change session state: settings (replayable) and the rest (reset, not kept). */
const SETTING =
  /^\s*(?:SET\s+(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b|SESSION\s+CHARACTERISTICS\b)|RESET\s|SELECT\s+(?:pg_catalog\.)?set_config\s*\()[^;]*;?\s*$/i;
const SESSION_CHANGE =
  /\b(?:SET\s+(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)|RESET\b|set_config\s*\(|LISTEN\b|DISCARD\b|PREPARE\b|DEALLOCATE\b|WITH\s+HOLD\b|pg_(?:try_)?advisory_lock|CREATE\s+(?:GLOBAL\s+|LOCAL\s+)?TEMP(?:ORARY)?\b)/i;
/** Back to a fresh session's state, but for named prepared statements (other clients' may be live): DISCARD ALL without DEALLOCATE ALL. */
const RESET_SESSION = "RESET ALL; CLOSE ALL; UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES";

/** The SQL text of a simple Query ('Q') or Parse ('P') message, else undefined. */
function sqlOf(msg: FrontendMessage): string | undefined {
  if (msg.kind !== "typed" || (msg.type !== "Q" && msg.type !== "P")) return undefined;
  const b = msg.bytes;
  let start = 5;
  if (msg.type === "P") start = b.indexOf(0, start) + 1; // skip the statement name
  const end = b.indexOf(0, start);
  return Buffer.from(b.buffer, b.byteOffset + start, Math.max(0, end - start)).toString("utf8");
}

/**
 * Serves one PGlite session to many Postgres clients. PGlite is a single session, so a client must
 * own it for a whole unit of work, not just per message: from its first message until a
 * ReadyForQuery with status idle. That covers an extended-protocol sequence
 * (Parse/Bind/Execute…Sync, where interleaving another client's Parse would swap the unnamed
 * statement under it) and an explicit transaction (BEGIN … COMMIT). Other clients queue meanwhile.
 *
 * `@electric-sql/pglite-socket` 0.2.17's multiplexer hands the session over between single
 * messages outside explicit transactions, so concurrent parameterised queries from `pg` get each
 * other's results; that is why this exists (see scripts/pglite-check.ts).
 *
 * Session state stays with the client that made it: a client's `SET` / `RESET` / `set_config`
 * (pg_dump's `search_path = ''` among them) is undone before another client runs, and replayed
 * when it runs again; other session state (temporary tables, LISTEN, held cursors, session
 * advisory locks) is reset when another client takes over, not kept. Named prepared statements
 * stay shared (no client here names one).
 */
export class PgliteMultiplexer {
  private readonly db: PGlite;
  private readonly opts: PgliteMultiplexerOptions;
  private server: net.Server | undefined;
  private readonly conns = new Set<Conn>();
  private owner: Conn | undefined;
  private readonly waiting: Array<{ conn: Conn; grant: () => void }> = [];
  private readonly tracker = new BackendTracker();
  private nextId = 1;
  /** The client whose session changes are in effect (undefined: a fresh session's). */
  private applied: Conn | undefined;

  constructor(opts: PgliteMultiplexerOptions) {
    this.db = opts.db;
    this.opts = opts;
  }

  /** Start listening; resolves with the bound address. */
  async listen(): Promise<{ host: string; port: number }> {
    await this.db.waitReady;
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.opts.port ?? 54329, this.opts.host ?? "127.0.0.1", () => {
        server.off("error", reject);
        const addr = server.address() as net.AddressInfo;
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  /** Connections currently open. */
  get connectionCount(): number {
    return this.conns.size;
  }

  /** Stop listening, drop every client (rolling back open work), and wait for PGlite to be idle. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    for (const c of this.conns) c.socket.destroy();
    await closed;
    // Wait for the last owner to be released and recovered.
    while (this.owner || this.waiting.length > 0) await new Promise((r) => setTimeout(r, 10));
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    if (this.conns.size >= (this.opts.maxConnections ?? 100)) {
      socket.end(errorResponse("FATAL", "53300", "sorry, too many clients already"));
      return;
    }
    const conn: Conn = { id: this.nextId++, socket, framer: new FrontendFramer(), queue: [], draining: false, closed: false, dirty: false, settings: [] };
    this.conns.add(conn);
    socket.on("data", (chunk: Buffer) => {
      let msgs: FrontendMessage[];
      try {
        msgs = conn.framer.push(chunk);
      } catch (err) {
        this.log(`conn ${conn.id}: ${(err as Error).message}; closing`);
        socket.destroy();
        return;
      }
      if (msgs.length === 0) return;
      clearTimeout(conn.idleTimer);
      conn.queue.push(...msgs);
      void this.drain(conn);
    });
    socket.on("error", (err) => this.log(`conn ${conn.id}: ${err.message}`));
    socket.on("close", () => void this.onClose(conn));
  }

  /** Run a connection's queued messages in order, owning the session while it must. */
  private async drain(conn: Conn): Promise<void> {
    if (conn.draining) return;
    conn.draining = true;
    try {
      while (!conn.closed && conn.queue.length > 0) {
        const msg = conn.queue.shift() as FrontendMessage;
        if (msg.kind === "ssl-request" || msg.kind === "gssenc-request") {
          conn.socket.write("N"); // no encryption; the client continues in plain text
          continue;
        }
        if (msg.kind === "cancel-request" || (msg.kind === "typed" && msg.type === "X")) {
          conn.socket.end(); // PGlite has no backend to cancel; Terminate just closes
          conn.closed = true;
          break;
        }
        await this.acquire(conn);
        if (conn.closed) break;
        await this.switchSession(conn);
        this.noteSessionChange(conn, msg);
        const status = await this.exec(conn, msg.bytes);
        if (status === "I") this.release(conn);
      }
    } catch (err) {
      this.log(`conn ${conn.id}: ${(err as Error).message}; closing`);
      conn.socket.destroy();
    } finally {
      conn.draining = false;
    }
    if (this.owner === conn && !conn.closed) this.armIdleTimer(conn);
  }

  /** Execute one message inside PGlite; returns the ReadyForQuery status if the reply ended with one. */
  private async exec(conn: Conn, bytes: Uint8Array, write = true): Promise<"I" | "T" | "E" | undefined> {
    this.tracker.takeReadyStatus();
    await this.db.runExclusive(() =>
      this.db.execProtocolRawStream(bytes, {
        onRawData: (data) => {
          this.tracker.push(data);
          // Copy: the view points into WASM memory that the next call reuses.
          if (write && !conn.closed && conn.socket.writable) conn.socket.write(Buffer.from(data));
        },
      }),
    );
    return this.tracker.takeReadyStatus();
  }

  private acquire(conn: Conn): Promise<void> {
    if (this.owner === conn) return Promise.resolve();
    if (!this.owner) {
      this.owner = conn;
      return Promise.resolve();
    }
    // The owner may be sitting idle inside a transaction: now someone waits, it gets less time.
    const owner = this.owner;
    if (!owner.draining && owner.queue.length === 0) this.armIdleTimer(owner, true);
    return new Promise((grant) => this.waiting.push({ conn, grant }));
  }

  /** Before `conn` runs: undo another client's session changes, and put back its own. */
  private async switchSession(conn: Conn): Promise<void> {
    if (this.applied === conn || (this.applied === undefined && conn.settings.length === 0)) return;
    if (this.applied?.dirty) {
      await this.db.exec(RESET_SESSION);
      this.log(`conn ${this.applied.id}: session state reset before conn ${conn.id} runs`);
    }
    this.applied = undefined;
    for (const sql of conn.settings) await this.db.exec(sql);
    if (conn.settings.length > 0) this.applied = conn;
  }

  /** Remember what `msg` does to the session: a setting to replay, or state to reset after it. */
  private noteSessionChange(conn: Conn, msg: FrontendMessage): void {
    const sql = sqlOf(msg);
    if (sql === undefined || !SESSION_CHANGE.test(sql)) return;
    conn.dirty = true;
    this.applied = conn;
    if (msg.kind === "typed" && msg.type === "Q" && SETTING.test(sql)) conn.settings.push(sql);
  }

  private release(conn: Conn): void {
    if (this.owner !== conn) return;
    clearTimeout(conn.idleTimer);
    const next = this.waiting.shift();
    this.owner = next?.conn;
    next?.grant();
  }

  private armIdleTimer(conn: Conn, contended = this.waiting.length > 0): void {
    const idle = this.opts.idleInTransactionTimeoutMs ?? 60_000;
    const busy = this.opts.contendedIdleTimeoutMs ?? 2000;
    const ms = contended && busy > 0 ? (idle > 0 ? Math.min(idle, busy) : busy) : idle;
    if (ms <= 0) return;
    clearTimeout(conn.idleTimer);
    conn.idleTimer = setTimeout(() => {
      if (this.owner !== conn || conn.queue.length > 0) return;
      this.log(`conn ${conn.id}: idle in transaction for ${ms} ms with ${this.waiting.length} waiting; closing it`);
      conn.socket.end(errorResponse("FATAL", "25P03", "terminating connection due to idle-in-transaction timeout"));
      conn.socket.destroySoon();
    }, ms);
    conn.idleTimer.unref();
  }

  /** A client went away: drop its queue; if it held the session, finish its work, then hand over. */
  private async onClose(conn: Conn): Promise<void> {
    conn.closed = true;
    conn.settings.length = 0; // its state is reset before the next client runs (it stays `applied` and dirty)
    conn.queue.length = 0;
    clearTimeout(conn.idleTimer);
    this.conns.delete(conn);
    const i = this.waiting.findIndex((w) => w.conn === conn);
    if (i >= 0) this.waiting.splice(i, 1)[0]?.grant(); // its drain loop sees `closed` and stops
    if (this.owner !== conn) return;
    while (conn.draining) await new Promise((r) => setTimeout(r, 5));
    if (this.owner !== conn) return;
    try {
      // Close an unfinished extended-protocol sequence, then any transaction block it left open.
      let status = await this.exec(conn, SYNC_MESSAGE, false);
      if (status !== "I") {
        // exec() takes PGlite's own locks; nesting it in runExclusive would deadlock.
        await this.db.exec("ROLLBACK");
        status = "I";
      }
      this.log(`conn ${conn.id}: closed while holding the session; recovered (${String(status)})`);
    } catch (err) {
      this.log(`conn ${conn.id}: recovery after close failed: ${(err as Error).message}`);
    }
    this.release(conn);
  }
}
