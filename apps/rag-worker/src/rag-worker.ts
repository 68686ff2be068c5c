import { logScrubber } from "@switchyard/rag";
import type { JobView, RagResult } from "@switchyard/contracts";
import { createDb, readiness, readinessResponse } from "@switchyard/db";
import { createOpenAIProvider, DEFAULT_CATALOG_PATH, loadCatalog } from "@switchyard/providers";
import { createQueueSet, createRedis, defineProcessor, JobStore, RedisKeys } from "@switchyard/queue";
import { CircuitBreakers, createProcessMetrics } from "@switchyard/routing";
import { indexDocument, prepareVectorSearch, retrieve, selectEmbedder } from "@switchyard/rag";
import { AttrNames, createLogger, createMetricsRegistry, SpanKind, startMetricsServer, startSpan, withExtractedContext, withLogContext, type Logger } from "@switchyard/telemetry";
import type { RagEnv } from "./env";

export interface RunningRagWorker {
  metricsPort: number;
  close(): Promise<void>;
}

/**
 * rag-worker: `ai-rag` retrieves context for a job (a child of its route job) and `ai-index`
 * chunks, embeds and stores documents.
 */
export async function startRagWorker(env: RagEnv, opts: { logger?: Logger } = {}): Promise<RunningRagWorker> {
  const logger = opts.logger ?? createLogger({ name: "rag-worker", level: env.LOG_LEVEL, scrub: logScrubber });
  const db = createDb({ connectionString: env.DATABASE_URL, max: 5, onError: (err) => logger.warn({ err: err.message }, "postgres client error") });
  const redis = createRedis(env.REDIS_URL);
  redis.on("error", (err: Error) => logger.warn({ err: err.message }, "redis error"));
  const keys = new RedisKeys(env.SWITCHYARD_PREFIX);
  const queues = createQueueSet({ connection: redis, keys });
  const jobStore = new JobStore({ redis, keys, retentionSeconds: env.JOB_RETENTION_SECONDS });
  const registry = createMetricsRegistry({ serviceName: "rag-worker" });
  const catalog = loadCatalog(env.MODEL_CATALOG_PATH ?? DEFAULT_CATALOG_PATH);
  const metrics = createProcessMetrics(registry, { queues, breakers: new CircuitBreakers({ redis, prefix: env.SWITCHYARD_PREFIX }), models: catalog.models.map((m) => m.id) });
  const embedder = selectEmbedder({ provider: env.EMBEDDINGS_PROVIDER, model: env.EMBEDDINGS_MODEL, dimensions: env.EMBEDDINGS_DIMENSIONS }, () => createOpenAIProvider({ baseUrl: env.OPENAI_BASE_URL, apiKey: env.OPENAI_API_KEY }));

  // Once per start: the model's HNSW index where pgvector exists (built concurrently if missing,
  // while jobs are served by an exact scan meanwhile), else the warning that large collections are
  // searched by full text only.
  const vectorSearch = prepareVectorSearch(db, embedder).then(
    (v) => {
      if (v.warning) logger.warn({ storage: v.storage, mode: v.mode }, v.warning);
      else logger.info({ mode: v.mode, index: v.index, created: v.created, buildSeconds: v.buildSeconds }, "vector search ready");
    },
    (err: Error) => logger.warn({ err: err.message }, "vector index could not be prepared: vector search compares every chunk in scope"),
  );

  const rag = defineProcessor(
    "ai-rag",
    async (p): Promise<RagResult> => withLogContext({ jobId: p.job_id, tenantId: p.tenant_id }, () => withExtractedContext(p.trace, () => startSpan("retrieve", { [AttrNames.jobId]: p.job_id, [AttrNames.tenantId]: p.tenant_id, [AttrNames.queue]: "ai-rag", "switchyard.rag.collection": p.collection }, async (span) => {
      const live = await jobStore.get(p.job_id);
      if (live) {
        const view: JobView = { ...live.view, status: "retrieving", started_at: live.view.started_at ?? new Date().toISOString() };
        await jobStore.transition(view, { type: "status", data: { status: "retrieving" } });
      }
      const dep = live ? await db.selectFrom("deployments").select("allowed_source_domains").where("id", "=", live.deploymentId).executeTakeFirst() : undefined;
      const r = await retrieve(db, { tenantId: p.tenant_id, collection: p.collection, query: p.query, topK: p.top_k, embedder, allowedDomains: dep?.allowed_source_domains ?? null });
      const hit = r.results.length > 0;
      span.setAttributes({ "switchyard.rag.results": r.results.length, "switchyard.rag.hit": hit });
      metrics.ragRequests.add(1, { result: hit ? "hit" : "miss" });
      if (!hit) await indexPending(p.tenant_id, p.collection);
      return {
        chunks: r.results.map((c) => ({ chunk_id: c.chunk_id, document_id: c.document_id, title: c.title, source_url: c.source_url, text: c.text, score: c.score })),
        no_sources: !hit,
        redacted_query: r.query,
        embedding_model: r.model,
      };
    }, SpanKind.CONSUMER))),
    { keys, connection: redis.duplicate(), concurrency: env.RAG_CONCURRENCY, onDequeue: metrics.countDequeue },
  );

  /** An empty retrieval triggers indexing of the collection's documents still waiting for it. */
  async function indexPending(tenantId: string, collection: string): Promise<void> {
    const pending = await db.selectFrom("documents").select("id").where("tenant_id", "=", tenantId).where("collection", "=", collection).where("status", "in", ["pending", "failed"]).limit(100).execute();
    for (const d of pending) await queues.enqueue("ai-index", { tenant_id: tenantId, collection, document_id: d.id, trace: {} }, { jobId: `idx-${tenantId}-${collection}-${d.id}-retry-${Math.floor(Date.now() / 60_000)}` });
  }

  const index = defineProcessor(
    "ai-index",
    async (p) => withLogContext({ tenantId: p.tenant_id, documentId: p.document_id }, async () => {
      const r = await indexDocument(db, { tenantId: p.tenant_id, collection: p.collection, documentId: p.document_id }, embedder);
      logger.info({ collection: p.collection, ...r }, "document indexed");
      return r;
    }),
    { keys, connection: redis.duplicate(), concurrency: env.INDEX_CONCURRENCY, onDequeue: metrics.countDequeue },
  );
  for (const w of [rag, index]) {
    w.on("failed", (job, err) => logger.warn({ queue: w.name, jobId: job?.id, err: err.message }, "rag-worker job failed"));
    w.on("error", (err) => logger.error({ err: err.message }, "worker error"));
  }

  const server = await startMetricsServer({
    port: env.METRICS_PORT,
    registry,
    metrics,
    routes: { "/health/ready": async () => readinessResponse(await readiness({ redis, db })) },
  });
  logger.info({ metricsPort: server.port, embedder: embedder.model }, "rag-worker consuming ai-rag and ai-index");
  let closing: Promise<void> | null = null;
  return {
    metricsPort: server.port,
    close: () =>
      (closing ??= (async () => {
        await Promise.all([rag.close(), index.close(), vectorSearch]);
        await queues.close();
        await server.close();
        redis.disconnect();
        await db.destroy();
        await registry.shutdown();
      })()),
  };
}
