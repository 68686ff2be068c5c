import {
  ApiError,
  CollectionName,
  CreateDocumentRequest,
  DocumentId,
  newId,
  SearchRequest,
  type DocumentView,
  type SearchResults,
} from "@switchyard/contracts";
import { countChunks, deleteDocument, getDocument, retrieve, upsertDocument, type DocumentRow } from "@switchyard/rag";
import { Router, type Request } from "express";
import type { Authenticator } from "../middleware/authenticate";
import { requireScopes } from "../middleware/authenticate";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { refuseDuringMaintenance } from "../services/maintenance";
import { parseBody } from "../services/validation";

function param<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ message: string }> } } },
  value: unknown,
  name: string,
): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ApiError("invalid_request", `${name}: ${r.error.issues[0]?.message ?? "invalid"}`, name);
  return r.data;
}

function view(d: DocumentRow, chunks: number): DocumentView {
  return {
    id: d.id,
    object: "document" as const,
    collection: d.collection,
    title: d.title,
    source_url: d.source_url,
    metadata: d.metadata,
    status: d.status,
    error: d.error,
    chunks,
    created_at: new Date(d.created_at).toISOString(),
    updated_at: new Date(d.updated_at).toISOString(),
    indexed_at: d.indexed_at ? new Date(d.indexed_at).toISOString() : null,
  };
}

/**
 * Documents for retrieval, per tenant and collection: write (queued for indexing on `ai-index`),
 * read, delete, and search (retrieval alone, no model call). Another tenant's document is 404.
 */
export function documentsRouter(r: GatewayResources, auth: Authenticator): Router {
  const router = Router();
  const feature = async (req: Request, name: "knowledgeBaseEnabled" | "ragEnabled") => {
    const d = await r.deployments.get(principalOf(req).deploymentId);
    if (!d.features[name]) throw new ApiError("feature_disabled", `this deployment does not have ${name}`);
    return d;
  };

  router.post("/v1/collections/:collection/documents", requireScopes(auth, "documents:write"), async (req, res) => {
    const collection = param(CollectionName, req.params.collection, "collection");
    const body = parseBody(CreateDocumentRequest, req.body);
    await feature(req, "knowledgeBaseEnabled");
    await refuseDuringMaintenance(r.maintenance);
    const p = principalOf(req);
    const documentId = body.id ?? newId("doc");
    const { document, needsIndexing } = await upsertDocument(r.db, {
      tenantId: p.tenantId,
      collection,
      documentId,
      title: body.title,
      text: body.text,
      sourceUrl: body.source_url ?? null,
      metadata: body.metadata ?? {},
    });
    if (needsIndexing) {
      await r.queues.enqueue(
        "ai-index",
        { tenant_id: p.tenantId, collection, document_id: documentId, trace: {} },
        { jobId: `idx-${p.tenantId}-${collection}-${documentId}-${document.content_hash.slice(0, 16)}` },
      );
      r.metrics.countEnqueue("ai-index");
    }
    res.status(202).json({ document_id: documentId, object: "document", collection, status: needsIndexing ? "indexing" : document.status });
  });

  router.get("/v1/collections/:collection/documents/:id", requireScopes(auth, "documents:read"), async (req, res) => {
    const key = {
      tenantId: principalOf(req).tenantId,
      collection: param(CollectionName, req.params.collection, "collection"),
      documentId: param(DocumentId, req.params.id, "id"),
    };
    const d = await getDocument(r.db, key);
    if (!d) throw new ApiError("not_found", `no document ${key.documentId} in collection ${key.collection}`, "id");
    res.json(view(d, await countChunks(r.db, key)));
  });

  router.delete("/v1/collections/:collection/documents/:id", requireScopes(auth, "documents:write"), async (req, res) => {
    const key = {
      tenantId: principalOf(req).tenantId,
      collection: param(CollectionName, req.params.collection, "collection"),
      documentId: param(DocumentId, req.params.id, "id"),
    };
    if (!(await deleteDocument(r.db, key))) throw new ApiError("not_found", `no document ${key.documentId} in collection ${key.collection}`, "id");
    res.json({ id: key.documentId, object: "document", deleted: true });
  });

  router.post("/v1/collections/:collection/search", requireScopes(auth, "documents:read"), async (req, res) => {
    const collection = param(CollectionName, req.params.collection, "collection");
    const body = parseBody(SearchRequest, req.body);
    const d = await feature(req, "ragEnabled");
    const result = await retrieve(r.db, {
      tenantId: d.tenantId,
      collection,
      query: body.query,
      topK: body.top_k,
      mode: body.mode,
      embedder: r.embedder,
      allowedDomains: d.allowedSourceDomains,
    });
    const answer: SearchResults = { object: "list", query: result.query, mode: result.mode, model: result.model, data: result.results };
    res.json(answer);
  });

  return router;
}
