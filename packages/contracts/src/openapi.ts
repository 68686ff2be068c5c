import { z } from "zod";
import { ApiErrorBody } from "./errors";
import { errorStatuses, openApiPath, pathParamNames, type RouteContract } from "./http/route-contract";
import { HTTP_REQUEST_SCHEMAS, HTTP_RESPONSE_SCHEMAS, HTTP_ROUTES } from "./http/routes";

/** A JSON Schema or OpenAPI object, as plain JSON. */
type Json = { [key: string]: unknown };

const ERROR = "Error";
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const STATUS_TEXT: Record<number, string> = {
  400: "invalid request: `error.param` names the field",
  401: "no key, or not a valid one",
  402: "budget or prepaid credits exhausted",
  403: "the key lacks the scope, or the deployment the feature",
  404: "not found (another tenant's object is not found too)",
  409: "conflicts with the object's state",
  413: "body larger than the limit",
  422: "well-formed but refused (e.g. an Idempotency-Key reused with another body)",
  429: "rate limited; `Retry-After` says when to retry",
  502: "the upstream provider failed",
  503: "unavailable (maintenance); `Retry-After` says when to retry",
  504: "the client's deadline passed",
};

/**
 * JSON Schemas of a named set, by name, references to one another as `#/components/schemas/<name>`.
 * `$defs` (zod emits them for recursive schemas) are hoisted to components of their own.
 */
function componentSchemas(schemas: Record<string, z.ZodType>, io: "input" | "output"): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [name, schema] of Object.entries(schemas)) registry.add(schema, { id: name });
  const out = z.toJSONSchema(registry, { io, target: "draft-2020-12", unrepresentable: "any", uri: (id) => `#/components/schemas/${id}` }).schemas as Record<
    string,
    Json
  >;
  const result: Record<string, Json> = {};
  for (const [name, schema] of Object.entries(out)) {
    const { $schema: _s, $id: _i, $defs, ...rest } = schema;
    const prefix = `${name}_`;
    const rewrite = (s: Json) => JSON.parse(JSON.stringify(s).replaceAll('"#/$defs/', `"#/components/schemas/${prefix}`)) as Json;
    result[name] = rewrite(rest);
    for (const [def, defSchema] of Object.entries(($defs ?? {}) as Record<string, Json>)) result[prefix + def] = rewrite(defSchema);
  }
  return result;
}

/** The name a schema has in `names`, or a clear error (the test that builds the document fails on it). */
function nameOf(names: Map<z.ZodType, string>, schema: z.ZodType, where: string): string {
  const name = names.get(schema);
  if (name === undefined) throw new Error(`${where}: its schema is not in HTTP_REQUEST_SCHEMAS/HTTP_RESPONSE_SCHEMAS, so it has no component name`);
  return name;
}

/** A query schema's properties as `in: query` parameters. */
function queryParameters(query: z.ZodType): Json[] {
  const schema = z.toJSONSchema(query, { io: "input", target: "draft-2020-12", unrepresentable: "any" }) as Json;
  const props = (schema.properties ?? {}) as Record<string, Json>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => {
    const { description, ...rest } = s;
    return { name, in: "query", required: required.has(name), ...(description ? { description } : {}), schema: rest };
  });
}

function operation(r: RouteContract, responseNames: Map<z.ZodType, string>, requestNames: Map<z.ZodType, string>): Json {
  const where = `${r.method.toUpperCase()} ${r.path}`;
  const parameters: Json[] = [
    ...pathParamNames(r.path).map((name) => ({
      name,
      in: "path",
      required: true,
      ...(r.params?.[name] ? { description: r.params[name] } : {}),
      schema: { type: "string" },
    })),
    ...(r.query ? queryParameters(r.query) : []),
    ...Object.entries(r.headers ?? {}).map(([name, description]) => ({ name, in: "header", required: false, description, schema: { type: "string" } })),
  ];
  const responses: Json = {};
  for (const [status, resp] of Object.entries(r.responses)) {
    const content: Json = {};
    for (const c of resp.content)
      content[c.type] = c.schema
        ? { schema: ref(nameOf(responseNames, c.schema, where)) }
        : { schema: { type: c.type === "application/json" ? "object" : "string", ...(c.description ? { description: c.description } : {}) } };
    responses[status] = {
      description: resp.description,
      content,
      ...(resp.headers
        ? { headers: Object.fromEntries(Object.entries(resp.headers).map(([h, d]) => [h, { description: d, schema: { type: "string" } }])) }
        : {}),
    };
  }
  for (const status of errorStatuses(r)) {
    if (responses[status]) continue;
    responses[status] = { description: STATUS_TEXT[status] ?? "error", content: { "application/json": { schema: ref(ERROR) } } };
  }
  return {
    operationId: r.operationId,
    summary: r.summary,
    ...(r.description ? { description: r.description } : {}),
    tags: [r.tag],
    security: r.auth === "none" ? [] : r.auth === "admin-basic" ? [{ bearer: ["admin"] }, { basic: ["admin"] }] : [{ bearer: [r.auth.scope] }],
    ...(parameters.length ? { parameters } : {}),
    ...(r.body ? { requestBody: { required: !r.bodyOptional, content: { "application/json": { schema: ref(nameOf(requestNames, r.body, where)) } } } } : {}),
    responses,
  };
}

/** Keys sorted at every level, so the same registry always gives the same bytes. */
function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sorted((value as Json)[k])]),
    );
  return value;
}

/**
 * The gateway's HTTP API as an OpenAPI 3.1.0 document, built from {@link HTTP_ROUTES} and the zod
 * schemas it names: request bodies as their input, responses as their output, every error as
 * `{"error":{type,code,message,param?,request_id}}`. Deterministic: keys sorted, routes in path order.
 */
export function buildOpenApiDocument(opts: { version?: string; serverUrl?: string } = {}): Json {
  const requestNames = new Map<z.ZodType, string>(Object.entries(HTTP_REQUEST_SCHEMAS).map(([n, s]) => [s, n]));
  const responseNames = new Map<z.ZodType, string>(Object.entries(HTTP_RESPONSE_SCHEMAS).map(([n, s]) => [s, n]));
  const schemas: Record<string, Json> = { ...componentSchemas({ ...HTTP_RESPONSE_SCHEMAS, [ERROR]: ApiErrorBody }, "output") };
  for (const [name, schema] of Object.entries(componentSchemas(HTTP_REQUEST_SCHEMAS, "input"))) {
    if (schemas[name]) throw new Error(`component ${name} is both a request and a response schema`);
    schemas[name] = schema;
  }
  const paths: Record<string, Json> = {};
  for (const r of [...HTTP_ROUTES].sort((a, b) => (a.path === b.path ? a.method.localeCompare(b.method) : a.path.localeCompare(b.path)))) {
    const p = (paths[openApiPath(r.path)] ??= {});
    p[r.method] = operation(r, responseNames, requestNames);
  }
  return sorted({
    openapi: "3.1.0",
    info: {
      title: "Switchyard",
      version: opts.version ?? "1",
      description:
        "Queue-driven AI job gateway. Errors are `{\"error\":{type,code,message,param?,request_id}}` (OpenAI's shape). Switchyard's own endpoints reject unknown JSON fields.",
    },
    ...(opts.serverUrl ? { servers: [{ url: opts.serverUrl }] } : {}),
    tags: [...new Set(HTTP_ROUTES.map((r) => r.tag))].sort().map((name) => ({ name })),
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "`Authorization: Bearer sy_live_…` (or a publishable `sy_pk_…` key from an allowed origin)" },
        basic: { type: "http", scheme: "basic", description: "the browser pages: any user name, an admin key as the password" },
      },
    },
  }) as Json;
}
