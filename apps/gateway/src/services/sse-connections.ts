/** The slice of a pino logger SseConnections writes to. */
export interface SseConnectionsLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SseConnectionsOptions {
  /** Open connections at which one `warn` line is logged (SSE_WARN_CONNECTIONS, 150 in production). */
  warn: number;
  /** Open connections at which one `error` line with `severity: "critical"` is logged (SSE_CRITICAL_CONNECTIONS, 200); at least `warn`. */
  critical: number;
  logger: SseConnectionsLogger;
  /** The `ai_sse_connections` up-down counter, moved with the count. */
  gauge?: { add(n: number): void };
}

/**
 * How far below a threshold the count must fall before that threshold logs again: 10 % of it, at
 * least one. Without it a count hovering at the threshold (149, 150, 149, 150…) would log a line
 * per connection, which is the noise the "once" is meant to avoid.
 */
export const rearmMargin = (threshold: number): number => Math.max(1, Math.ceil(threshold * 0.1));

/**
 * Counts this process's open SSE connections (job events and OpenAI-compatible streams), moves
 * `ai_sse_connections` with them, and logs when the
 * count crosses the warning and critical thresholds on the way up: one line per crossing, not one
 * per connection above it. A threshold re-arms once the count has fallen `rearmMargin` below it;
 * falling below the warning level that way after a warning logs one `info` line.
 *
 * The thresholds are per gateway process; Prometheus alerts on the sum across replicas.
 */
export class SseConnections {
  private open = 0;
  private warned = false;
  private critical = false;

  constructor(private readonly opts: SseConnectionsOptions) {
    if (opts.critical < opts.warn) throw new Error(`SSE critical threshold (${opts.critical}) is below the warning threshold (${opts.warn})`);
  }

  /** Open connections now. */
  get count(): number {
    return this.open;
  }

  /** A connection opened; returns the new count. */
  opened(): number {
    const n = ++this.open;
    this.opts.gauge?.add(1);
    const { warn, critical, logger } = this.opts;
    if (!this.warned && n >= warn) {
      this.warned = true;
      logger.warn({ event: "sse_connections_high", sse_connections: n, threshold: warn, severity: "warning" }, "SSE connections at warning level");
    }
    if (!this.critical && n >= critical) {
      this.critical = true;
      logger.error({ event: "sse_connections_critical", sse_connections: n, threshold: critical, severity: "critical" }, "SSE connections at critical level");
    }
    return n;
  }

  /** A connection closed; returns the new count. */
  closed(): number {
    if (this.open > 0) this.opts.gauge?.add(-1);
    const n = this.open > 0 ? --this.open : 0;
    const { warn, critical, logger } = this.opts;
    if (this.critical && n <= critical - rearmMargin(critical)) this.critical = false;
    if (this.warned && n <= warn - rearmMargin(warn)) {
      this.warned = false;
      logger.info({ event: "sse_connections_normal", sse_connections: n, threshold: warn }, "SSE connections back below warning level");
    }
    return n;
  }
}
