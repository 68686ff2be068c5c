import type { QueuePayload } from "@switchyard/contracts";
import type { Database } from "@switchyard/db";
import { indexDocument, type Embedder } from "@switchyard/rag";
import { withLogContext, type Logger } from "@switchyard/telemetry";
import type { Kysely } from "kysely";

/** One `ai-index` job: a document chunked, embedded and stored. */
export function indexJob(deps: { db: Kysely<Database>; embedder: Embedder; logger: Logger }, p: QueuePayload<"ai-index">) {
  return withLogContext({ tenantId: p.tenant_id, documentId: p.document_id }, async () => {
    const r = await indexDocument(deps.db, { tenantId: p.tenant_id, collection: p.collection, documentId: p.document_id }, deps.embedder);
    deps.logger.info({ collection: p.collection, ...r }, "document indexed");
    return r;
  });
}
