import path from "node:path";
import { envPort } from "./env-values";
import { repoRoot } from "./paths";

/** One app the launcher runs. */
export interface AppSpec {
  /** Folder name under apps/, also the log prefix. */
  name: string;
  /** Absolute path of its composition root. */
  entry: string;
  /** Environment set on top of the launcher's own. */
  env: Record<string, string>;
  /** Port of its HTTP endpoints (API for the gateway, /metrics for workers). */
  port: number;
}

/** The ports the launcher hands out. */
export interface AppPorts {
  gateway: number;
  routerMetrics: number;
  aggregatorMetrics: number;
  ragMetrics: number;
}

/**
 * Ports from the environment: `PORT` (gateway, default 8080), `ROUTER_METRICS_PORT` (9464),
 * `AGGREGATOR_METRICS_PORT` (9465), `RAG_METRICS_PORT` (9466).
 */
export function appPorts(env: NodeJS.ProcessEnv): AppPorts {
  return {
    gateway: envPort(env, "PORT", 8080),
    routerMetrics: envPort(env, "ROUTER_METRICS_PORT", 9464),
    aggregatorMetrics: envPort(env, "AGGREGATOR_METRICS_PORT", 9465),
    ragMetrics: envPort(env, "RAG_METRICS_PORT", 9466),
  };
}

/**
 * The four apps with their connection strings and ports; entries are `<appsDir>/<name>/src/main.ts`
 * (TypeScript, run through tsx), or with `compiled` their production bundles `<name>/dist/main.js`.
 */
export function appSpecs(ports: AppPorts, databaseUrl: string, redisUrl: string, appsDir: string = path.join(repoRoot, "apps"), compiled = false): AppSpec[] {
  const entry = (app: string) => (compiled ? path.join(appsDir, app, "dist", "main.js") : path.join(appsDir, app, "src", "main.ts"));
  const common = { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl };
  return [
    { name: "gateway", entry: entry("gateway"), port: ports.gateway, env: { ...common, PORT: String(ports.gateway) } },
    { name: "router-worker", entry: entry("router-worker"), port: ports.routerMetrics, env: { ...common, METRICS_PORT: String(ports.routerMetrics) } },
    { name: "rag-worker", entry: entry("rag-worker"), port: ports.ragMetrics, env: { ...common, METRICS_PORT: String(ports.ragMetrics) } },
    {
      name: "usage-aggregator",
      entry: entry("usage-aggregator"),
      port: ports.aggregatorMetrics,
      env: { ...common, METRICS_PORT: String(ports.aggregatorMetrics) },
    },
  ];
}

/** What the banner shows. */
export interface BannerInfo {
  apps: AppSpec[];
  gatewayPort: number;
  postgres: string;
  redis: string;
  bootstrapKey: string;
  keyFile?: string;
}

/** The lines printed once the gateway is ready: URLs, the bootstrap key, a curl example. */
export function bannerLines(info: BannerInfo): string[] {
  const base = `http://127.0.0.1:${info.gatewayPort}`;
  const width = Math.max(...info.apps.map((a) => a.name.length));
  const body = JSON.stringify({ messages: [{ role: "user", content: "hi" }] });
  return [
    "",
    "Switchyard is running",
    `  postgres        ${info.postgres}`,
    `  redis           ${info.redis}`,
    `  API             ${base}/v1`,
    `  readiness       ${base}/health/ready`,
    `  queue dashboard ${base}/admin/queues`,
    "  metrics",
    ...info.apps.map((a) => `    ${a.name.padEnd(width)}  http://127.0.0.1:${a.port}/metrics`),
    `  bootstrap key   ${info.bootstrapKey}${info.keyFile ? `  (saved in ${info.keyFile})` : ""}`,
    "  try it:",
    `    curl -s ${base}/v1/jobs -H "Authorization: Bearer ${info.bootstrapKey}" -H "Content-Type: application/json" -d '${body}'`,
    `    curl -s ${base}/v1/jobs/<id> -H "Authorization: Bearer ${info.bootstrapKey}"`,
    "  Ctrl-C stops everything.",
    "",
  ];
}
