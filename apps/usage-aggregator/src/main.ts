import { runApp } from "@switchyard/runtime";
import { startAggregator } from "./aggregator";
import { loadEnv } from "./env";

// Consumes ai-usage (the ledger), ai-alerts, ai-reports and ai-housekeeping; serves /metrics and /health/ready.
runApp({ name: "usage-aggregator", loadEnv, start: (env, { logger }) => startAggregator(env, { logger }) });
