import type { Cluster, Redis as SingleRedis } from "ioredis";

/** One server or a Redis Cluster (the keys are all in one hash slot). */
type Redis = SingleRedis | Cluster;

/**
 * In-flight provider calls by job id. The gateway publishes a job id on the cancel channel; the
 * worker running it aborts its upstream call (closing the provider's socket).
 */
export class CancelRegistry {
  private readonly inFlight = new Map<string, AbortController>();
  private sub: Redis | null = null;

  register(jobId: string): AbortController {
    const ac = new AbortController();
    this.inFlight.set(jobId, ac);
    return ac;
  }

  unregister(jobId: string, ac: AbortController): void {
    if (this.inFlight.get(jobId) === ac) this.inFlight.delete(jobId);
  }

  cancel(jobId: string, reason = "canceled"): boolean {
    const ac = this.inFlight.get(jobId);
    if (!ac) return false;
    ac.abort(new Error(reason));
    return true;
  }

  abortAll(reason: string): void {
    for (const ac of this.inFlight.values()) ac.abort(new Error(reason));
  }

  async listen(subscriber: Redis, channel: string): Promise<void> {
    this.sub = subscriber;
    subscriber.on("message", (ch: string, jobId: string) => {
      if (ch === channel) this.cancel(jobId);
    });
    await subscriber.subscribe(channel);
  }

  async close(): Promise<void> {
    this.sub?.disconnect();
  }
}
