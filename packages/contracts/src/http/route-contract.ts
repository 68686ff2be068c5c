import type { z } from "zod";
import type { Scope } from "../auth";

/** Media types the gateway answers with. */
export type MediaType = "application/json" | "text/event-stream" | "text/plain" | "text/html" | "text/csv" | "application/octet-stream";

/** One way a route answers with a status: a media type and, for JSON, its schema. */
export interface RouteContent {
  type: MediaType;
  /** The body's schema (JSON only); other media types are described in words. */
  schema?: z.ZodType;
  description?: string;
}

export interface RouteResponse {
  description: string;
  content: RouteContent[];
  /** Response headers worth naming (`Location`, `Retry-After`, …) and what they hold. */
  headers?: Record<string, string>;
}

/**
 * Who may call a route: nobody in particular (`none`), a Bearer key with `scope`, or an admin key
 * as HTTP Basic password or Bearer (`admin-basic`, for the browser pages and what they fetch).
 */
export type RouteAuth = { scope: Scope } | "none" | "admin-basic";

/** One (method, path) the gateway mounts: what it takes, what it answers, who may call it. */
export interface RouteContract {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** In express form: `/v1/jobs/:id`. */
  path: string;
  /** Everything under `path` is served by one mounted app (the queue dashboard): `path` is a prefix. */
  prefix?: true;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  auth: RouteAuth;
  /** Path parameters' descriptions, by name; every `:name` of `path` is a string parameter. */
  params?: Record<string, string>;
  query?: z.ZodType;
  body?: z.ZodType;
  /** The body may be left out (it then reads as `{}`). */
  bodyOptional?: true;
  /** Request headers the route reads, and what for. */
  headers?: Record<string, string>;
  /** Successful answers by status. */
  responses: Record<number, RouteResponse>;
  /** Error statuses beyond the ones every route of its kind has (see `errorStatuses`). */
  errors?: number[];
}

/** The error statuses a route can answer with: those its kind implies plus its own. */
export function errorStatuses(r: RouteContract): number[] {
  const out = new Set<number>(r.errors ?? []);
  if (r.auth !== "none") {
    out.add(401);
    out.add(403);
  }
  if (r.query || r.body) out.add(400);
  if (r.body) out.add(413);
  if (r.params && Object.keys(r.params).length) out.add(404);
  return [...out].sort((a, b) => a - b);
}

/** `/v1/jobs/:id` → `/v1/jobs/{id}`. */
export const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

/** The names of a path's parameters, in order. */
export const pathParamNames = (path: string) => [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);

/** A JSON answer. */
export const json = (schema: z.ZodType, description: string, headers?: Record<string, string>): RouteResponse => ({
  description,
  content: [{ type: "application/json", schema }],
  ...(headers ? { headers } : {}),
});

/** The answer header of a request replayed by its `Idempotency-Key`. */
export const REPLAYED = { "Idempotent-Replayed": "true when the answer is a replay of an earlier request with the same Idempotency-Key" };
/** OpenAPI tags the admin and operator routes share. */
export const ADMIN = "Admin";
export const OPS = "Operations";
