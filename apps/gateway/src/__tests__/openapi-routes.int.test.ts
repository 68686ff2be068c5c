import { buildOpenApiDocument, HTTP_ROUTES } from "@switchyard/contracts";
import { createLogger } from "@switchyard/telemetry";
import { cleanupPrefix, createTestDatabase, testPrefix, TEST_REDIS_URL, writeTestCatalog, type TestDatabase } from "@switchyard/testkit";
import express from "express";
import { createGatewayApp } from "../app";
import { loadEnv } from "../env";
import { startGateway, type RunningGateway } from "../server";
import { mountedRoutes, type MountedRoute } from "./mounted-routes";

/**
 * The CI check of the API contract: every (method, path) the real express app mounts has an entry
 * in `HTTP_ROUTES` (and so a schema in `/openapi.json`), and every entry is mounted.
 */
let database: TestDatabase;
let gw: RunningGateway;
const prefix = testPrefix("openapi");

beforeAll(async () => {
  database = await createTestDatabase();
  const env = loadEnv({
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    SWITCHYARD_PREFIX: prefix,
    PORT: "0",
    HOST: "127.0.0.1",
    MODEL_CATALOG_PATH: writeTestCatalog(),
    LOG_LEVEL: "silent",
  });
  gw = await startGateway(env, { logger: createLogger({ name: "gateway", level: "silent" }), db: database.db });
}, 60_000);
afterAll(async () => {
  await gw?.close(0);
  await database?.drop();
  await cleanupPrefix(prefix);
});

const key = (r: { method: string; path: string; prefix?: boolean }) => `${r.method.toUpperCase()} ${r.path}${r.prefix ? "/*" : ""}`;

/** What the registry lacks and what it names that nothing mounts. */
function compare(mounted: MountedRoute[]): { unregistered: string[]; unmounted: string[] } {
  const registered = new Set(HTTP_ROUTES.map(key));
  const live = new Set(mounted.map(key));
  return { unregistered: [...live].filter((k) => !registered.has(k)).sort(), unmounted: [...registered].filter((k) => !live.has(k)).sort() };
}

test("every route express mounts has a registry entry (a schema), and every entry is mounted", () => {
  const mounted = mountedRoutes(createGatewayApp(gw.resources) as unknown as Parameters<typeof mountedRoutes>[0]);
  // The walk reaches into nested routers: the admin router's sub-routers are there.
  expect(mounted.map(key)).toEqual(
    expect.arrayContaining(["POST /admin/v1/usage-dead-letters/:id/replay", "GET /admin/v1/audit", "GET /health", "GET /admin/queues/*"]),
  );
  const { unregistered, unmounted } = compare(mounted);
  // Listed by name, so a failure says which routes to add to HTTP_ROUTES (packages/contracts/src/http/routes.ts).
  expect({ unregistered, unmounted }).toEqual({ unregistered: [], unmounted: [] });
});

test("the check finds a route without an entry, however deeply it is nested", () => {
  const app = express();
  const inner = express.Router();
  inner.patch("/v1/jobs/:id", (_req, res) => res.end());
  const outer = express.Router();
  outer.use(inner);
  app.use(outer);
  app.use("/mounted", express.Router());
  outer.use("/app", express());
  const { unregistered } = compare(mountedRoutes(app as unknown as Parameters<typeof mountedRoutes>[0]));
  expect(unregistered).toEqual(["GET /app/*", "GET /mounted/*", "PATCH /v1/jobs/:id"]);
});

test("GET /openapi.json serves the document without a key", async () => {
  const res = await fetch(`http://127.0.0.1:${gw.port}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
  expect(doc).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
  expect(doc.openapi).toBe("3.1.0");
  expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/jobs", "/v1/jobs/{id}", "/admin/v1/tenants/{id}/api-keys"]));
});
