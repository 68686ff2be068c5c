import { runApp } from "@switchyard/runtime";
import { loadEnv } from "./env";
import { startGateway } from "./server";

// Serves the HTTP API (jobs, SSE, OpenAI facade, admin, /metrics, health); enqueues onto ai-route, ai-rag, ai-index.
runApp({ name: "gateway", loadEnv, start: (env, { logger }) => startGateway(env, { logger }) });
