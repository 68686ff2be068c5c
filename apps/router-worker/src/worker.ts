import { createProviderRegistry, DEFAULT_CATALOG_PATH, loadCatalog, type ProviderRegistryOptions } from "@switchyard/providers";
import { defineProcessor, FairScheduler, JobStore } from "@switchyard/queue";
import type { QueueName } from "@switchyard/contracts";
import { withExtractedContext, withLogContext, startSpan, AttrNames, SpanKind, type Logger } from "@switchyard/telemetry";
import { CircuitBreakers } from "@switchyard/routing";
import { AlertFirer, BudgetLedger, BudgetUsedRatios } from "@switchyard/admission";
import { startProcess } from "@switchyard/runtime";
import { CancelRegistry } from "./cancel-listener";
import type { RouterEnv } from "./env";
import { faultPoints, type Fault } from "./fault-points";
import { isJobFailed } from "./job-failed";
import type { RouteDeps } from "./route-deps";
import { endQueueTimeout, processRouteJob } from "./route-job";
import { createFairMetrics } from "./fair-metrics";
import { FairDispatcher } from "./fair-dispatcher";
import { createWaitMetrics } from "./wait-metrics";

export interface RunningRouterWorker {
  metricsPort: number;
  /** Counts a job taken from a queue in this process's `ai_queue_dequeue_total` (the compare worker's too). */
  countDequeue(queue: QueueName): void;
  /** Stop taking jobs, let running ones finish within the grace, then close connections. */
  close(graceMs?: number): Promise<void>;
}

/** Build the router-worker from its env and start consuming `ai-route`. Used by main.ts and tests. */
export async function startRouterWorker(
  env: RouterEnv,
  opts: { logger?: Logger; providers?: ProviderRegistryOptions; /** Default: the env's SWITCHYARD_FAULT_POINTS (a no-op when unset). */ fault?: Fault } = {},
): Promise<RunningRouterWorker> {
  return startProcess({ name: "router-worker", env, logger: opts.logger }, async (p) => {
    const { redis, keys, queues, logger } = p;
    const catalog = loadCatalog(env.MODEL_CATALOG_PATH ?? DEFAULT_CATALOG_PATH);
    const breakers = new CircuitBreakers({
      redis,
      prefix: env.SWITCHYARD_PREFIX,
      windowMs: env.BREAKER_WINDOW_MS,
      minVolume: env.BREAKER_MIN_VOLUME,
      errorRateThreshold: env.BREAKER_ERROR_RATE,
      openMs: env.BREAKER_OPEN_MS,
    });
    const budgetRatios = new BudgetUsedRatios();
    const metrics = p.metrics({ catalog, breakerStates: (models) => breakers.states(models), budgetRatios: () => budgetRatios.current() });
    const providers = createProviderRegistry(opts.providers ?? providerOptions(env));
    p.defer("providers", () => providers.close());
    const cancels = new CancelRegistry();
    await cancels.listen(p.duplicate(), keys.cancelChannel());
    p.defer("cancel listener", () => cancels.close());
    const deps: RouteDeps = {
      jobStore: new JobStore({ redis, keys, retentionSeconds: env.JOB_RETENTION_SECONDS }),
      queues,
      catalog,
      providers,
      breakers,
      // Settling only adds to periods Redis already holds; rebuilding one from Postgres is admission's job.
      budgets: new BudgetLedger({
        redis,
        prefix: env.SWITCHYARD_PREFIX,
        loadSpent: async () => {
          throw new Error("router-worker does not load budget periods");
        },
      }),
      maxUpstreamWaitMs: env.MAX_UPSTREAM_WAIT_MS,
      // Alerts: settled spend can cross a budget threshold too (actual cost above the estimate).
      alerts: new AlertFirer({ redis, prefix: env.SWITCHYARD_PREFIX, queues, onEnqueue: () => metrics.countEnqueue("ai-alerts") }),
      cancels,
      metrics,
      budgetRatios,
      logger,
      maxStartedAttempts: env.MAX_STARTED_ATTEMPTS,
      fault: opts.fault ?? faultPoints(env.SWITCHYARD_FAULT_POINTS),
      waitMetrics: createWaitMetrics(p.registry),
      fairMetrics: createFairMetrics(p.registry),
    };
    const fair = new FairScheduler({ redis, keys, dispatchAhead: env.FAIR_DISPATCH_AHEAD });
    // Fair scheduling: this process keeps ai-route topped up from the fair lists (FAIR_SCHEDULING).
    const dispatcher = env.FAIR_SCHEDULING
      ? new FairDispatcher({
          fair,
          blocking: p.duplicate(),
          keys,
          queues,
          jobStore: deps.jobStore,
          logger,
          fault: deps.fault,
          metrics: deps.fairMetrics!,
          concurrency: env.ROUTER_CONCURRENCY,
          recoverMs: env.FAIR_RECOVER_MS,
          endQueueTimeout: (payload) => endQueueTimeout(deps, payload),
        })
      : null;
    /** A job ended (or left BullMQ for good): free a capped deployment's slot, and let the dispatcher look again. */
    const ended = async (payload: { job_id: string; deployment_id: string; queue?: { capped: boolean } }) => {
      if (payload.queue?.capped) await fair.release(payload.deployment_id, payload.job_id).catch(() => undefined);
      dispatcher?.wake();
    };
    if (env.SWITCHYARD_FAULT_POINTS.size)
      logger.warn({ faultPoints: Object.fromEntries(env.SWITCHYARD_FAULT_POINTS) }, "fault points armed: this worker kills itself at them (crash tests only)");
    const worker = defineProcessor(
      "ai-route",
      (payload, job, token) => {
        return withLogContext({ jobId: payload.job_id, tenantId: payload.tenant_id }, () =>
          withExtractedContext(payload.trace, () =>
            startSpan(
              "route job",
              {
                [AttrNames.jobId]: payload.job_id,
                [AttrNames.tenantId]: payload.tenant_id,
                [AttrNames.queue]: "ai-route",
                "switchyard.queue.wait_ms": Math.max(0, Date.now() - job.timestamp),
              },
              async () => {
                // BullMQ's waiting count just dropped: the dispatcher may top it up.
                dispatcher?.wake();
                try {
                  const result = await processRouteJob(deps, payload, job, token);
                  await ended(payload);
                  return result;
                } catch (err) {
                  if (isJobFailed(err)) await ended(payload);
                  throw err;
                }
              },
              SpanKind.CONSUMER,
            ),
          ),
        );
      },
      {
        keys,
        connection: p.duplicate(),
        concurrency: env.ROUTER_CONCURRENCY,
        lockDuration: env.WORKER_LOCK_MS,
        stalledInterval: env.WORKER_LOCK_MS,
        maxStalledCount: 2,
        onDequeue: metrics.countDequeue,
      },
    );
    worker.on("failed", (job, err) => {
      const ctx = { jobId: job?.id, tenantId: (job?.data as { tenant_id?: string } | undefined)?.tenant_id, attempts: job?.attemptsMade, err: err.message };
      // A job that ended failed was logged when it finished; its queue job is failed on purpose (JobFailed).
      if (isJobFailed(err)) logger.debug(ctx, "route job failed (job ended failed)");
      else logger.warn(ctx, "route attempt failed");
    });
    worker.on("error", (err) => logger.error({ err: err.message }, "worker error"));
    let graceMs = env.SHUTDOWN_GRACE_MS;
    p.defer("ai-route consumer", async () => {
      // worker.close() waits for running jobs; past the grace their calls are aborted and
      // BullMQ hands them to another worker once their locks lapse.
      const timer = setTimeout(() => cancels.abortAll("shutdown"), graceMs);
      await worker.close();
      clearTimeout(timer);
    });
    if (dispatcher) {
      await dispatcher.start();
      // Deferred after the consumer, so it closes first: no entry is popped for a worker that is gone.
      p.defer("fair dispatcher", () => dispatcher.close());
    }
    const server = await p.serveMetrics({ port: env.METRICS_PORT, metrics });
    logger.info({ metricsPort: server.port, concurrency: env.ROUTER_CONCURRENCY }, "router-worker consuming ai-route");
    return {
      metricsPort: server.port,
      countDequeue: metrics.countDequeue,
      close: (grace?: number) => {
        graceMs = grace ?? graceMs;
        return p.close();
      },
    };
  });
}

/** Provider settings from the env: a provider without a key is served by the simulated one. */
export function providerOptions(env: RouterEnv): ProviderRegistryOptions {
  const stall = env.STREAM_STALL_MS;
  return {
    openai: { baseUrl: env.OPENAI_BASE_URL, apiKey: env.OPENAI_API_KEY, streamIdleTimeoutMs: stall, timeoutMs: env.PROVIDER_TIMEOUT_MS },
    anthropic: { baseUrl: env.ANTHROPIC_BASE_URL, apiKey: env.ANTHROPIC_API_KEY, streamIdleTimeoutMs: stall, timeoutMs: env.PROVIDER_TIMEOUT_MS },
    gemini: { baseUrl: env.GEMINI_BASE_URL, apiKey: env.GEMINI_API_KEY, streamIdleTimeoutMs: stall, timeoutMs: env.PROVIDER_TIMEOUT_MS },
  };
}
