/**
 * The settings of `bench/portkey-compare.ts`: its options as read from the environment (the list
 * is in that file's header), the model and key the targets are called with, and the fixed answer
 * of the mock upstream that every target must hand back.
 */
import path from "node:path";
import { envInt } from "./bench-env";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const PORTKEY_DIR = path.join(__dirname, "..", "node_modules", "@portkey-ai", "gateway");
export const MODEL_ID = "bench-openai";
export const UPSTREAM_MODEL = "gpt-4o-mini";
export const API_KEY = "sk-fake";
/** What the mock answers, in pieces when streamed; every target must hand back exactly this. */
export const REPLY_PIECES = ["Hello", " from", " the", " mock", " upstream", "."];
export const REPLY = REPLY_PIECES.join("");
export const USAGE = { prompt_tokens: 12, completion_tokens: REPLY_PIECES.length, total_tokens: 12 + REPLY_PIECES.length };

export type TargetName = "direct" | "portkey" | "switchyard";
const TARGETS: readonly TargetName[] = ["direct", "portkey", "switchyard"];

export function readConfig() {
  const targets = (process.env.BENCH_TARGETS ?? TARGETS.join(","))
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const t of targets) if (!TARGETS.includes(t as TargetName)) throw new Error(`BENCH_TARGETS: unknown target ${t} (known: ${TARGETS.join(", ")})`);
  if (!targets.includes("direct")) throw new Error("BENCH_TARGETS must include direct (the baseline the added latency is measured against)");
  return {
    upstreamDelayMs: envInt("BENCH_UPSTREAM_DELAY_MS", 50, 0),
    connections: envInt("BENCH_CONNECTIONS", 50),
    closedMs: envInt("BENCH_CLOSED_SECONDS", 15) * 1000,
    closedMax: envInt("BENCH_CLOSED_MAX_REQUESTS", 6000),
    warmupRequests: envInt("BENCH_WARMUP_REQUESTS", 300, 0),
    openRate: envInt("BENCH_OPEN_RATE", 200),
    openMs: envInt("BENCH_OPEN_SECONDS", 10) * 1000,
    openWarmupMs: envInt("BENCH_OPEN_WARMUP_SECONDS", 2, 0) * 1000,
    openMaxInFlight: envInt("BENCH_OPEN_MAX_INFLIGHT", 400),
    rounds: envInt("BENCH_ROUNDS", 2),
    targets: TARGETS.filter((t) => targets.includes(t)),
    routerConcurrency: envInt("BENCH_ROUTER_CONCURRENCY", 100),
    requestTimeoutMs: envInt("BENCH_REQUEST_TIMEOUT_MS", 30_000, 100),
    timeoutMs: envInt("BENCH_TIMEOUT_SECONDS", 300) * 1000,
    out: path.resolve(REPO_ROOT, process.env.BENCH_OUT ?? "bench/out/portkey-compare.json"),
  };
}
export type Config = ReturnType<typeof readConfig>;
