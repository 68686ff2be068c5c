import { HTTP_ROUTES, openApiPath, pathParamNames } from "./http";
import { buildOpenApiDocument } from "./openapi";

type Json = Record<string, any>;
const doc: Json = buildOpenApiDocument();

/** Every `$ref` anywhere in `value`, with where it sits. */
function refs(value: unknown, at = "#", out: Array<{ at: string; ref: string }> = []): Array<{ at: string; ref: string }> {
  if (Array.isArray(value)) value.forEach((v, i) => refs(v, `${at}/${i}`, out));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref" && typeof v === "string") out.push({ at, ref: v });
      else refs(v, `${at}/${k}`, out);
    }
  }
  return out;
}

function resolve(ref: string): unknown {
  if (!ref.startsWith("#/")) return undefined;
  return ref
    .slice(2)
    .split("/")
    .map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce<unknown>((node, key) => (node && typeof node === "object" ? (node as Json)[key] : undefined), doc);
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const operations = Object.entries(doc.paths as Json).flatMap(([path, item]) =>
  Object.entries(item as Json)
    .filter(([m]) => METHODS.includes(m))
    .map(([method, op]) => ({ path, method, op: op as Json })),
);

describe("the OpenAPI document", () => {
  test("is OpenAPI 3.1.0 with the bearer scheme every secured operation names", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toMatchObject({ title: "Switchyard", version: expect.any(String) });
    expect(doc.components.securitySchemes.bearer).toEqual(expect.objectContaining({ type: "http", scheme: "bearer" }));
    for (const { op } of operations)
      for (const req of op.security as Json[]) for (const name of Object.keys(req)) expect(doc.components.securitySchemes[name]).toBeDefined();
  });

  test("every $ref resolves, and no JSON Schema keeps a local $defs reference", () => {
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(50);
    const broken = all.filter((r) => resolve(r.ref) === undefined).map((r) => `${r.at}: ${r.ref}`);
    expect(broken).toEqual([]);
  });

  test("every path parameter is declared once, as required, and no undeclared one is", () => {
    const problems: string[] = [];
    for (const { path, method, op } of operations) {
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
      const declared = ((op.parameters ?? []) as Json[]).filter((p) => p.in === "path");
      const names = declared.map((p) => p.name as string);
      if (JSON.stringify([...names].sort()) !== JSON.stringify([...inPath].sort()))
        problems.push(`${method} ${path}: path has ${inPath.join(",")}, declared ${names.join(",")}`);
      if (declared.some((p) => p.required !== true)) problems.push(`${method} ${path}: a path parameter is not required`);
      const keys = ((op.parameters ?? []) as Json[]).map((p) => `${p.in}:${p.name}`);
      if (new Set(keys).size !== keys.length) problems.push(`${method} ${path}: a parameter repeats`);
    }
    expect(problems).toEqual([]);
  });

  test("operation ids are unique; every operation has a 2xx and an error schema for its 4xx", () => {
    const ids = operations.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, method, op } of operations) {
      const statuses = Object.keys(op.responses);
      expect([path, method, statuses.some((s) => s.startsWith("2"))]).toEqual([path, method, true]);
      for (const s of statuses.filter((x) => x.startsWith("4") && !(path === "/health/ready")))
        expect(op.responses[s].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
    }
    expect(doc.components.schemas.Error.properties.error.required).toEqual(expect.arrayContaining(["type", "code", "message"]));
  });

  test("non-JSON routes say their media type", () => {
    const media = (path: string, method: string, status = "200") => Object.keys(doc.paths[path][method].responses[status].content);
    expect(media("/v1/jobs/{id}/events", "get")).toEqual(["text/event-stream"]);
    expect(media("/v1/chat/completions", "post")).toEqual(["application/json", "text/event-stream"]);
    expect(media("/metrics", "get")).toEqual(["text/plain"]);
    expect(media("/dashboard", "get")).toEqual(["text/html"]);
    expect(media("/v1/reports/daily", "get")).toEqual(["application/json", "text/csv"]);
  });

  test("one registry entry per (method, path), each in the document", () => {
    const keys = HTTP_ROUTES.map((r) => `${r.method} ${r.path}`);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
    for (const r of HTTP_ROUTES) {
      expect(doc.paths[openApiPath(r.path)][r.method].operationId).toBe(r.operationId);
      for (const name of Object.keys(r.params ?? {})) expect(pathParamNames(r.path)).toContain(name);
    }
  });

  test("is deterministic: the same bytes every time", () => {
    expect(JSON.stringify(buildOpenApiDocument())).toBe(JSON.stringify(doc));
  });
});
