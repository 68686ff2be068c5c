import { endComparison, isTerminalStatus, type CompareJobPayload, type JobEvent } from "@switchyard/contracts";
import type { JobStore } from "@switchyard/queue";
import type { Logger } from "@switchyard/telemetry";
import type { Job } from "bullmq";

export interface CompareDeps {
  jobStore: JobStore;
  logger: Logger;
}

/**
 * End a multi-model comparison once BullMQ has run every child (`ai-route` jobs; a child that
 * failed for good does not hold the parent back): its final view holds each model's answer,
 * usage, latency, cost and error side by side, and its stream ends with one `done` (or `error`
 * when no model answered), after every child's events, which the job store copied there as they
 * were written. A child not yet ended in the job store (BullMQ gave up on a delivery that never
 * finished it) is waited for through this job's retries; on the last one the comparison ends
 * with the child as it stands.
 */
export async function processCompareJob(d: CompareDeps, payload: CompareJobPayload, job: Pick<Job, "attemptsMade" | "opts">): Promise<string> {
  const parent = await d.jobStore.get(payload.job_id);
  if (!parent) {
    d.logger.warn({ jobId: payload.job_id }, "comparison state is gone (expired or discarded); dropping");
    return "missing";
  }
  if (isTerminalStatus(parent.status)) return parent.status; // canceled, or a redelivery
  const kids = await Promise.all(payload.children.map((c) => d.jobStore.get(c.job_id)));
  const open = payload.children.filter((_, i) => kids[i] && !isTerminalStatus(kids[i].status)).map((c) => c.job_id);
  const lastTry = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  if (open.length > 0 && !lastTry) throw new Error(`children not ended yet: ${open.join(", ")}`);
  const view = endComparison(
    parent.view,
    payload.children.map((c, i) => ({ model: c.model, job_id: c.job_id, view: kids[i]?.view ?? null })),
    new Date(),
  );
  const terminal: JobEvent =
    view.status === "succeeded"
      ? { type: "done", data: { job: view } }
      : {
          type: "error",
          data: {
            code: view.error?.code ?? "compare_failed",
            message: view.error?.message ?? "no model answered",
            reason: view.status === "canceled" ? "canceled" : "provider_error",
          },
        };
  const res = await d.jobStore.finish(view, terminal);
  if (res.kind !== "finished") return res.kind === "already_terminal" ? res.status : "missing";
  d.logger.info(
    {
      jobId: view.id,
      status: view.status,
      models: view.comparison?.map((c) => `${c.model}:${c.status}`),
      costUsd: view.usage?.cost_usd ?? 0,
      ...(open.length ? { unfinished: open } : {}),
    },
    "comparison finished",
  );
  return view.status;
}
