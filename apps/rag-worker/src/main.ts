import { runApp } from "@switchyard/runtime";
import { loadEnv } from "./env";
import { startRagWorker } from "./rag-worker";

// Consumes ai-rag (retrieval for a job) and ai-index (documents); serves /metrics and /health/ready.
runApp({ name: "rag-worker", loadEnv, start: (env, { logger }) => startRagWorker(env, { logger }) });
