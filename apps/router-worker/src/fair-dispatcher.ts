import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { isTerminalStatus, type RouteJobPayload } from "@switchyard/contracts";
import { addRouteJobs, type FairEntry, type FairScheduler, type JobStore, type QueueSet, type Redis, type RedisKeys } from "@switchyard/queue";
import type { Logger } from "@switchyard/telemetry";
import type { FairMetrics } from "./fair-metrics";
import type { Fault } from "./fault-points";

export interface FairDispatcherOptions {
  fair: FairScheduler;
  /** A connection of its own: it blocks on the notify list. */
  blocking: Redis;
  keys: RedisKeys;
  queues: QueueSet;
  jobStore: JobStore;
  logger: Logger;
  fault: Fault;
  metrics: FairMetrics;
  /** This process's ai-route concurrency, registered so the dispatch target is the workers' total. */
  concurrency: number;
  /** An entry left in `dispatching` this long is handed on by whichever dispatcher finds it. */
  recoverMs: number;
  /** End a job that waited past its max_queue_ms (failed, queue_timeout, reservation released, one terminal event). */
  endQueueTimeout(payload: RouteJobPayload): Promise<void>;
}

/** How long the dispatcher blocks on the notify list before it looks again (expiries, recovery). */
const BLOCK_SECONDS = 1;
/** Registration lifetime; renewed at a third of it. */
const REGISTRATION_TTL_MS = 15_000;
/** Most dispatch calls in one round before the dispatcher looks at expiries and recovery again. */
const ROUND_MAX = 100;
/** Most entries one dispatch call takes (BullMQ's room usually bounds it first). */
const BATCH_MAX = 100;

/**
 * The fair dispatcher of one router-worker process (any number may run): keeps BullMQ's ai-route
 * topped up to its target from the fair lists, by deficit round robin across deployments (see
 * FairScheduler). Wakes on the notify list (a gateway queued a job), on this process's jobs
 * starting or ending ({@link wake}), and every second. Each entry sits in `dispatching` between
 * its pop and its BullMQ add, so a process killed in between loses nothing: another dispatcher
 * hands it on after `recoverMs` (the job id makes a repeated add a no-op).
 */
export class FairDispatcher {
  private readonly id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private closed = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  private block: Promise<unknown> | null = null;
  private registration: NodeJS.Timeout | null = null;
  private lastChores = 0;

  constructor(private readonly o: FairDispatcherOptions) {}

  async start(): Promise<void> {
    await this.register();
    this.registration = setInterval(() => void this.register().catch(() => undefined), REGISTRATION_TTL_MS / 3);
    this.registration.unref();
    this.loop = this.run();
  }

  /** Look again now (a job of this process started or ended: BullMQ or a cap may have room). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.registration) clearInterval(this.registration);
    this.wake();
    await this.loop?.catch(() => undefined);
    await this.o.fair.unregisterWorker(this.id).catch(() => undefined);
    this.o.blocking.disconnect();
  }

  private register(): Promise<void> {
    return this.o.fair.registerWorker(this.id, this.o.concurrency, REGISTRATION_TTL_MS);
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        await this.round();
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message }, "fair dispatch round failed; retrying");
        await new Promise((r) => setTimeout(r, 200));
      }
      if (!this.closed) await this.idle();
    }
  }

  private async round(): Promise<void> {
    this.woken = false;
    const now = Date.now();
    if (now - this.lastChores >= 500) {
      this.lastChores = now;
      await this.chores();
    }
    for (let i = 0; i < ROUND_MAX && !this.closed; i++) {
      const got = await this.o.fair.dispatch(BATCH_MAX);
      if (got.entries.length) {
        this.o.fault("fair.dispatched");
        await this.handOn(got.entries);
        for (let n = 0; n < got.entries.length; n++) this.o.metrics.dispatched("dispatched");
      }
      for (const e of got.expired) await this.expire(e);
      if (got.idle) break;
    }
  }

  /** Entries past their max_queue_ms, entries stranded by a dead dispatcher, and capped deployments' slots held by ended jobs. */
  private async chores(): Promise<void> {
    for (const e of await this.o.fair.takeExpired()) await this.expire(e);
    for (const e of await this.o.fair.takeStranded(this.o.recoverMs)) {
      const live = await this.o.jobStore.get(e.jobId);
      if (!live || isTerminalStatus(live.status)) await this.o.fair.dispatched(e);
      else if (e.deadlineMs > 0 && e.deadlineMs <= Date.now()) await this.expire(e);
      else {
        await this.handOn([e]);
        this.o.metrics.dispatched("recovered");
        this.o.logger.warn({ jobId: e.jobId }, "handed on a fair-list entry whose dispatcher died before adding it");
      }
    }
    await this.o.fair.sweepInflight(this.o.recoverMs);
  }

  /** Add the entries' BullMQ jobs (one round trip for those without rag), then forget them. */
  private async handOn(entries: FairEntry[]): Promise<void> {
    await addRouteJobs(this.o.queues, entries);
    await this.o.fair.dispatched(...entries);
  }

  private async expire(e: FairEntry): Promise<void> {
    if (e.payload.compare_flow) {
      // A comparison goes on to BullMQ: each of its jobs carries the bound and ends queue_timeout as a worker reaches it.
      await this.handOn([e]);
      this.o.metrics.dispatched("expired");
      return;
    }
    await this.o.endQueueTimeout(e.payload);
    if (e.payload.queue?.capped) await this.o.fair.release(e.payload.deployment_id, e.jobId);
    await this.o.fair.dispatched(e);
    this.o.metrics.dispatched("expired");
  }

  /** Wait for a notice, a local wake or a second. */
  private idle(): Promise<void> {
    if (this.woken) return Promise.resolve();
    this.block ??= this.o.blocking
      .brpop(this.o.keys.fairNotify(), BLOCK_SECONDS)
      .catch(() => new Promise((r) => setTimeout(r, BLOCK_SECONDS * 1000)))
      .finally(() => (this.block = null));
    const block = this.block;
    return new Promise<void>((resolve) => {
      this.wakeUp = resolve;
      void block.then(() => resolve());
    }).finally(() => (this.wakeUp = null));
  }
}
