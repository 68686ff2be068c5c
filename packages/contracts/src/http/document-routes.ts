/** The Documents routes: a collection's documents (knowledge base) and retrieval from it. */
import { CreateDocumentRequest, SearchRequest } from "../documents";
import { json, type RouteContract } from "./route-contract";
import { DocumentAccepted, DocumentDeleted, DocumentView, SearchResults } from "./tenant-api";

const DOCS = "Documents";

/** `/v1/collections/:collection/…`: write, read and delete documents, search a collection. */
export const DOCUMENT_ROUTES: readonly RouteContract[] = [
  {
    method: "post",
    path: "/v1/collections/:collection/documents",
    operationId: "putDocument",
    summary: "Write a document (queued for indexing; knowledgeBaseEnabled)",
    tag: DOCS,
    auth: { scope: "documents:write" },
    params: { collection: "the collection's name" },
    body: CreateDocumentRequest,
    responses: { 202: json(DocumentAccepted, "accepted") },
    errors: [503],
  },
  {
    method: "get",
    path: "/v1/collections/:collection/documents/:id",
    operationId: "getDocument",
    summary: "A document and its indexing state",
    tag: DOCS,
    auth: { scope: "documents:read" },
    params: { collection: "the collection's name", id: "the document's id" },
    responses: { 200: json(DocumentView, "the document") },
  },
  {
    method: "delete",
    path: "/v1/collections/:collection/documents/:id",
    operationId: "deleteDocument",
    summary: "Delete a document and its chunks",
    tag: DOCS,
    auth: { scope: "documents:write" },
    params: { collection: "the collection's name", id: "the document's id" },
    responses: { 200: json(DocumentDeleted, "deleted") },
  },
  {
    method: "post",
    path: "/v1/collections/:collection/search",
    operationId: "searchCollection",
    summary: "Retrieval alone, no model call (ragEnabled)",
    tag: DOCS,
    auth: { scope: "documents:read" },
    params: { collection: "the collection's name" },
    body: SearchRequest,
    responses: { 200: json(SearchResults, "the best chunks") },
  },
];
