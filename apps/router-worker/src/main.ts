import { runApp } from "@switchyard/runtime";
import { startCompareWorker } from "./compare-worker";
import { loadEnv } from "./env";
import { startRouterWorker } from "./worker";

runApp({
  name: "router-worker",
  loadEnv,
  async start(env, { logger }) {
    // Consumes ai-route (routing, provider calls); serves /metrics and /health/ready.
    const routes = await startRouterWorker(env, { logger });
    // Multi-model comparisons: their parents end here once their children (route jobs) have.
    const comparisons = startCompareWorker(env, { logger, onDequeue: (queue) => routes.countDequeue(queue) });
    return [routes, comparisons];
  },
});
