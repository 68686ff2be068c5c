/**
 * The settings of `bench/gateway-overhead.ts`: its options as read from the environment (the list
 * is in that file's header), the one simulated model both phases call, and a job's request body.
 */
import path from "node:path";
import { envInt, writeOneModelCatalog } from "./bench-env";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const MODEL_ID = "bench-sim";

export function readConfig() {
  const phases = (process.env.BENCH_PHASES ?? "a,b").split(",").map((s) => s.trim());
  return {
    n: envInt("BENCH_N", 3000),
    concurrency: envInt("BENCH_CONCURRENCY", 64),
    warmup: envInt("BENCH_WARMUP", 300, 0),
    m: envInt("BENCH_M", 300),
    e2eConcurrency: envInt("BENCH_E2E_CONCURRENCY", 8),
    e2eWarmup: envInt("BENCH_E2E_WARMUP", 30, 0),
    behaviour: { ttft_ms: envInt("BENCH_TTFT_MS", 20, 0), tokens_per_second: envInt("BENCH_TPS", 2000), failure_rate: 0 },
    maxTokens: envInt("BENCH_MAX_TOKENS", 16),
    phaseMs: envInt("BENCH_PHASE_SECONDS", 60) * 1000,
    timeoutMs: envInt("BENCH_TIMEOUT_SECONDS", 600) * 1000,
    runA: phases.includes("a"),
    runB: phases.includes("b"),
    admitPath: admitPath(process.env.BENCH_ADMIT_PATH ?? "bullmq"),
    out: path.resolve(REPO_ROOT, process.env.BENCH_OUT ?? "bench/out/gateway-overhead.json"),
  };
}
export type Config = ReturnType<typeof readConfig>;

function admitPath(v: string): "bullmq" | "fair" {
  if (v !== "bullmq" && v !== "fair") throw new Error(`BENCH_ADMIT_PATH must be bullmq or fair, got ${v}`);
  return v;
}

/** A catalog with one simulated model whose pace the bench chooses (the direct call uses the same). */
export function writeCatalog(cfg: Config): { file: string; dir: string } {
  return writeOneModelCatalog(
    {
      id: MODEL_ID,
      provider: "simulated",
      upstream_model: MODEL_ID,
      max_output_tokens: cfg.maxTokens,
      pricing: { input: 0.3, output: 2.5, cached_input: 0 },
      simulated: cfg.behaviour,
    },
    "overhead",
  );
}

export const jobBody = (content: string, maxTokens: number) => ({ model: MODEL_ID, messages: [{ role: "user" as const, content }], max_tokens: maxTokens });
