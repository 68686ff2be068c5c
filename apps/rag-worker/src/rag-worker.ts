import type { Database } from "@switchyard/db";
import { createOpenAIProvider } from "@switchyard/providers";
import { defineProcessor, JobStore } from "@switchyard/queue";
import { prepareVectorSearch, selectEmbedder, type Embedder } from "@switchyard/rag";
import { startProcess, type AppProcess } from "@switchyard/runtime";
import type { Logger } from "@switchyard/telemetry";
import type { Kysely } from "kysely";
import type { RagEnv } from "./env";
import { indexJob } from "./index-job";
import { retrieveJob } from "./retrieve-job";

export interface RunningRagWorker {
  metricsPort: number;
  close(): Promise<void>;
}

/**
 * rag-worker: `ai-rag` retrieves context for a job (a child of its route job) and `ai-index`
 * chunks, embeds and stores documents (the processors: retrieve-job.ts, index-job.ts).
 */
export async function startRagWorker(env: RagEnv, opts: { logger?: Logger; db?: Kysely<Database> } = {}): Promise<RunningRagWorker> {
  return startProcess({ name: "rag-worker", env, dbPoolMax: 5, ...opts }, async (p) => {
    const { db, keys, logger } = p;
    const metrics = p.metrics();
    const embedder = selectEmbedder({ provider: env.EMBEDDINGS_PROVIDER, model: env.EMBEDDINGS_MODEL, dimensions: env.EMBEDDINGS_DIMENSIONS }, () =>
      createOpenAIProvider({ baseUrl: env.OPENAI_BASE_URL, apiKey: env.OPENAI_API_KEY }),
    );
    prepareVectors(p, embedder);
    const deps = {
      db,
      embedder,
      logger,
      metrics,
      queues: p.queues,
      jobStore: new JobStore({ redis: p.redis, keys, retentionSeconds: env.JOB_RETENTION_SECONDS }),
    };
    const consumers = [
      defineProcessor("ai-rag", (payload) => retrieveJob(deps, payload), {
        keys,
        connection: p.duplicate(),
        concurrency: env.RAG_CONCURRENCY,
        onDequeue: metrics.countDequeue,
      }),
      defineProcessor("ai-index", (payload) => indexJob(deps, payload), {
        keys,
        connection: p.duplicate(),
        concurrency: env.INDEX_CONCURRENCY,
        onDequeue: metrics.countDequeue,
      }),
    ];
    for (const w of consumers) {
      w.on("failed", (job, err) => logger.warn({ queue: w.name, jobId: job?.id, err: err.message }, "rag-worker job failed"));
      w.on("error", (err) => logger.error({ err: err.message }, "worker error"));
    }
    p.defer("consumers", () => Promise.all(consumers.map((w) => w.close())));
    const server = await p.serveMetrics({ port: env.METRICS_PORT, metrics });
    logger.info({ metricsPort: server.port, embedder: embedder.model }, "rag-worker consuming ai-rag and ai-index");
    return { metricsPort: server.port, close: () => p.close() };
  });
}

/**
 * Once per start: the model's HNSW index where pgvector exists (built concurrently if missing,
 * while jobs are served by an exact scan meanwhile), else the warning that large collections are
 * searched by full text only. Shutdown waits for it.
 */
function prepareVectors(p: AppProcess, embedder: Embedder): void {
  const ready = prepareVectorSearch(p.db, embedder).then(
    (v) => {
      if (v.warning) p.logger.warn({ storage: v.storage, mode: v.mode }, v.warning);
      else p.logger.info({ mode: v.mode, index: v.index, created: v.created, buildSeconds: v.buildSeconds }, "vector search ready");
    },
    (err: Error) => p.logger.warn({ err: err.message }, "vector index could not be prepared: vector search compares every chunk in scope"),
  );
  p.defer("vector index preparation", () => ready);
}
