import { defineProcessor, JobStore } from "@switchyard/queue";
import { AppProcess } from "@switchyard/runtime";
import { withExtractedContext, withLogContext, type Logger } from "@switchyard/telemetry";
import { processCompareJob } from "./compare-job";
import type { RouterEnv } from "./env";

export interface RunningCompareWorker {
  close(): Promise<void>;
}

/**
 * Consume `ai-compare`: the parents of multi-model comparisons, each run once its children (route
 * jobs, which the router worker consumes) have ended. Light work (a few reads and one write per
 * comparison), so it shares the router-worker process and its settings.
 */
export function startCompareWorker(
  env: RouterEnv,
  opts: { logger: Logger; /** `ai_queue_dequeue_total`, in the process's registry. */ onDequeue?: (queue: "ai-compare") => void },
): RunningCompareWorker {
  const p = new AppProcess({ name: "router-worker", env, logger: opts.logger });
  const { keys, logger } = p;
  const deps = { jobStore: new JobStore({ redis: p.redis, keys, retentionSeconds: env.JOB_RETENTION_SECONDS }), logger };
  const worker = defineProcessor(
    "ai-compare",
    (payload, job) =>
      withLogContext({ jobId: payload.job_id, tenantId: payload.tenant_id }, () =>
        withExtractedContext(payload.trace, () => processCompareJob(deps, payload, job)),
      ),
    {
      keys,
      connection: p.duplicate(),
      concurrency: env.ROUTER_CONCURRENCY,
      lockDuration: env.WORKER_LOCK_MS,
      stalledInterval: env.WORKER_LOCK_MS,
      onDequeue: opts.onDequeue,
    },
  );
  worker.on("failed", (job, err) => logger.debug({ jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, "comparison attempt failed"));
  worker.on("error", (err) => logger.error({ err: err.message }, "compare worker error"));
  p.defer("ai-compare consumer", () => worker.close());
  return { close: () => p.close() };
}
