import { contentText, type CompareJobPayload, type CreateJobRequest, type RouteJobPayload } from "@switchyard/contracts";
import type { QueueSet } from "./queues";

/**
 * BullMQ priorities of the request's `priority` (lower runs first). Each class has two: this one,
 * and one more (`behind`) for a fair-scheduled job whose deployment already has a job waiting in
 * BullMQ (see FAIR_DISPATCH), so classes stay strictly ordered.
 */
export const ROUTE_PRIORITY = { high: 1, normal: 3, low: 5 } as const;

/** The BullMQ priority of a route job: its class's, one lower when `behind`. */
export function routePriority(payload: RouteJobPayload, behind = false): number {
  return ROUTE_PRIORITY[payload.request.priority ?? "normal"] + (behind ? 1 : 0);
}

/**
 * Add a created job's BullMQ job to `ai-route` (after its retrieval child, as one flow, when it
 * has `rag`): the gateway's direct path and the fair dispatcher share it. The job id makes a
 * repeat a no-op. Answers whether a retrieval child was added.
 */
export async function addRouteJob(queues: QueueSet, payload: RouteJobPayload, behind = false): Promise<{ rag: boolean }> {
  const req = payload.request;
  const priority = routePriority(payload, behind);
  if (req.rag) {
    // Retrieval runs first, as a child job; the route job reads its result when it starts.
    const rag = {
      job_id: payload.job_id,
      tenant_id: payload.tenant_id,
      collection: req.rag.collection,
      query: ragQuery(req),
      top_k: req.rag.top_k,
      trace: payload.trace,
    };
    await queues.enqueueFlow({ name: "ai-route", payload, opts: { jobId: payload.job_id, priority } }, [
      { name: "ai-rag", payload: rag, opts: { jobId: `rag-${payload.job_id}` } },
    ]);
    return { rag: true };
  }
  await queues.enqueue("ai-route", payload, { jobId: payload.job_id, priority });
  return { rag: false };
}

/** A multi-model comparison, one unit for the fair scheduler: its `ai-compare` parent and `ai-route` children (one BullMQ flow). */
export interface CompareFlow {
  parent: CompareJobPayload;
  children: RouteJobPayload[];
}

/**
 * What waits in a fair list: a route job's payload, or for a comparison its first child's with
 * `compare_flow` and the parent's job id (the whole flow is dispatched as one entry).
 */
export type FairPayload = RouteJobPayload & { compare_flow?: CompareFlow };

/** Add a comparison's flow: the children run first, at their class's BullMQ priority; the parent once they have ended. The job ids make a repeat a no-op. */
export async function addCompareFlow(queues: QueueSet, flow: CompareFlow): Promise<void> {
  await queues.enqueueFlow(
    { name: "ai-compare", payload: flow.parent, opts: { jobId: flow.parent.job_id } },
    flow.children.map((c) => ({ name: "ai-route" as const, payload: c, opts: { jobId: c.job_id, priority: routePriority(c) } })),
  );
}

/** {@link addRouteJob} for many jobs: those without `rag` in one round trip (one addBulk), flows (retrieval first, comparisons) one by one. */
export async function addRouteJobs(queues: QueueSet, jobs: Array<{ payload: FairPayload; behind?: boolean }>): Promise<void> {
  for (const j of jobs) if (j.payload.compare_flow) await addCompareFlow(queues, j.payload.compare_flow);
  jobs = jobs.filter((j) => !j.payload.compare_flow);
  const plain = jobs.filter((j) => !j.payload.request.rag);
  if (plain.length)
    await queues.enqueueBulk(
      "ai-route",
      plain.map(({ payload, behind }) => ({ payload, opts: { jobId: payload.job_id, priority: routePriority(payload, behind) } })),
    );
  for (const j of jobs) if (j.payload.request.rag) await addRouteJob(queues, j.payload, j.behind);
}

/** What retrieval searches for: the last user message (PII is redacted by the rag-worker before use). */
function ragQuery(req: CreateJobRequest): string {
  const last = [...req.messages].reverse().find((m) => m.role === "user") ?? req.messages.at(-1)!;
  return contentText(last.content).slice(0, 4000);
}
