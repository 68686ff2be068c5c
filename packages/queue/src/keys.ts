/**
 * Every Redis key Switchyard writes, under one hash-tagged prefix (`{sy}` by default) so Lua
 * scripts that touch several keys work on Redis Cluster too. BullMQ gets the same prefix.
 */
export class RedisKeys {
  readonly bullPrefix: string;
  constructor(readonly prefix: string) {
    this.bullPrefix = `{${prefix}}`;
  }
  job(id: string): string {
    return `${this.bullPrefix}:job:${id}`;
  }
  /** A BullMQ job's hash (BullMQ's own key layout: `<prefix>:<queue>:<job id>`). */
  bullJob(queue: string, id: string): string {
    return `${this.bullPrefix}:${queue}:${id}`;
  }
  events(id: string): string {
    return `${this.bullPrefix}:events:${id}`;
  }
  idempotency(tenantId: string, key: string): string {
    return `${this.bullPrefix}:idem:${tenantId}:${key}`;
  }
  /** Jobs not yet ended, scored by creation time (the stuck-job sweeper reads it). */
  liveJobs(): string {
    return `${this.bullPrefix}:live-jobs`;
  }
  /**
   * A tenant's jobs (ids scored by creation ms), live and recently ended, for listing them
   * (`GET /v1/jobs`): the base name of its buckets `<base>:<n>` and `<base>:open` (tenant-job-index.ts).
   */
  tenantJobs(tenantId: string): string {
    return `${this.bullPrefix}:tenant-jobs:${tenantId}`;
  }
  /** One notice per event-stream write, naming the job (`JOB_STORE` scripts write it; gateways tail it). */
  eventNotices(): string {
    return `${this.bullPrefix}:event-notices`;
  }
  /** Maintenance mode (JSON), set by an admin; every gateway reads it. */
  maintenance(): string {
    return `${this.bullPrefix}:maintenance`;
  }
  cancelChannel(): string {
    return `${this.bullPrefix}:cancel`;
  }
}
