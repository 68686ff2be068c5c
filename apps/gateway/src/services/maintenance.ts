import { ApiError, type MaintenanceView } from "@switchyard/contracts";
import type { Redis } from "@switchyard/queue";

/** Maintenance mode as stored in Redis: what `GET /admin/v1/maintenance` shows, without `object`. */
export type MaintenanceState = Omit<MaintenanceView, "object">;

const OFF: MaintenanceState = { on: false, message: null, retry_after_seconds: 0, since: null };
/** Every gateway re-reads the flag at most this often, so a change reaches all of them within a second. */
const CACHE_MS = 1000;

/**
 * Maintenance mode, shared by every gateway through one Redis key: while on, new work (jobs, chat
 * completions, responses, embeddings, document uploads) is refused with 503 and `Retry-After`;
 * reads, streams and replays of already-accepted submissions keep working, and the workers drain
 * what is queued. Read through a one-second cache, so the hot path costs no Redis call.
 */
export class Maintenance {
  private cached: { at: number; state: MaintenanceState } | null = null;
  private pending: Promise<MaintenanceState> | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {}

  /** The state as this gateway last read it (at most a second old); off when never set. */
  async current(): Promise<MaintenanceState> {
    if (this.cached && Date.now() - this.cached.at < CACHE_MS) return this.cached.state;
    this.pending ??= this.read()
      .then((state) => {
        this.cached = { at: Date.now(), state };
        return state;
      })
      .finally(() => (this.pending = null));
    return this.pending;
  }

  /** The last state read, without waiting (for the gauge); off before the first read. */
  get last(): MaintenanceState {
    return this.cached?.state ?? OFF;
  }

  async set(on: boolean, message: string | null, retryAfterSeconds: number): Promise<MaintenanceState> {
    const state: MaintenanceState = on ? { on, message, retry_after_seconds: retryAfterSeconds, since: new Date().toISOString() } : OFF;
    if (on) await this.redis.set(this.key, JSON.stringify(state));
    else await this.redis.del(this.key);
    this.cached = { at: Date.now(), state };
    return state;
  }

  private async read(): Promise<MaintenanceState> {
    const raw = await this.redis.get(this.key);
    if (raw === null) return OFF;
    try {
      return { ...OFF, ...(JSON.parse(raw) as Partial<MaintenanceState>), on: true };
    } catch {
      return { ...OFF, on: true };
    }
  }
}

/** 503 with `Retry-After` while maintenance is on; nothing otherwise. */
export async function refuseDuringMaintenance(m: Maintenance): Promise<void> {
  const s = await m.current();
  if (!s.on) return;
  throw new ApiError(
    "service_unavailable",
    `Switchyard is in maintenance${s.message ? `: ${s.message}` : ""}; new work is not accepted, reads and streams keep working. Retry after ${s.retry_after_seconds} s.`,
    undefined,
    { "Retry-After": String(s.retry_after_seconds) },
  );
}
