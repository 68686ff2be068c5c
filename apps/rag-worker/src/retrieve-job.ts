import type { JobView, QueuePayload, RagResult } from "@switchyard/contracts";
import { deploymentSourceDomains, pendingDocumentIds, type Database } from "@switchyard/db";
import type { JobStore, QueueSet } from "@switchyard/queue";
import { retrieve, type Embedder } from "@switchyard/rag";
import type { ProcessMetrics } from "@switchyard/runtime";
import { AttrNames, SpanKind, startSpan, withExtractedContext, withLogContext } from "@switchyard/telemetry";
import type { Kysely } from "kysely";

/** What a retrieval uses: the rag-worker's resources (built once in rag-worker.ts). */
export interface RetrieveDeps {
  db: Kysely<Database>;
  jobStore: JobStore;
  queues: QueueSet;
  embedder: Embedder;
  metrics: Pick<ProcessMetrics, "ragRequests">;
}

/**
 * One `ai-rag` job: the context for a job (a child of its route job), under the job's trace. The
 * job shows as `retrieving` meanwhile; sources are limited to its deployment's allowed domains. An
 * empty retrieval still answers (`no_sources`), counts a miss, and sends the collection's documents
 * still waiting for indexing to `ai-index`.
 */
export function retrieveJob(deps: RetrieveDeps, p: QueuePayload<"ai-rag">): Promise<RagResult> {
  const attrs = { [AttrNames.jobId]: p.job_id, [AttrNames.tenantId]: p.tenant_id, [AttrNames.queue]: "ai-rag", "switchyard.rag.collection": p.collection };
  return withLogContext({ jobId: p.job_id, tenantId: p.tenant_id }, () =>
    withExtractedContext(p.trace, () =>
      startSpan(
        "retrieve",
        attrs,
        async (span) => {
          const live = await deps.jobStore.get(p.job_id);
          if (live) {
            const view: JobView = { ...live.view, status: "retrieving", started_at: live.view.started_at ?? new Date().toISOString() };
            await deps.jobStore.transition(view, { type: "status", data: { status: "retrieving" } });
          }
          const allowedDomains = live ? await deploymentSourceDomains(deps.db, live.deploymentId) : null;
          const r = await retrieve(deps.db, {
            tenantId: p.tenant_id,
            collection: p.collection,
            query: p.query,
            topK: p.top_k,
            embedder: deps.embedder,
            allowedDomains,
          });
          const hit = r.results.length > 0;
          span.setAttributes({ "switchyard.rag.results": r.results.length, "switchyard.rag.hit": hit });
          deps.metrics.ragRequests.add(1, { result: hit ? "hit" : "miss" });
          if (!hit) await indexPending(deps, p.tenant_id, p.collection);
          return {
            chunks: r.results.map((c) => ({
              chunk_id: c.chunk_id,
              document_id: c.document_id,
              title: c.title,
              source_url: c.source_url,
              text: c.text,
              score: c.score,
            })),
            no_sources: !hit,
            redacted_query: r.query,
            embedding_model: r.model,
          };
        },
        SpanKind.CONSUMER,
      ),
    ),
  );
}

/** An empty retrieval triggers indexing of the collection's documents still waiting for it (one job per document a minute). */
async function indexPending(deps: RetrieveDeps, tenantId: string, collection: string): Promise<void> {
  for (const id of await pendingDocumentIds(deps.db, tenantId, collection)) {
    await deps.queues.enqueue(
      "ai-index",
      { tenant_id: tenantId, collection, document_id: id, trace: {} },
      { jobId: `idx-${tenantId}-${collection}-${id}-retry-${Math.floor(Date.now() / 60_000)}` },
    );
  }
}
