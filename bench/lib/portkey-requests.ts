/**
 * The requests of `bench/portkey-compare.ts`: a target (where to send, with which headers and
 * model), the check that an answer is the complete chat.completion the mock's reply should have
 * become, and the keep-alive pools the phases send over.
 */
import { Pool } from "undici";
import { REPLY, USAGE, type Config, type TargetName } from "./portkey-config";

export interface Target {
  name: TargetName;
  origin: string;
  headers: Record<string, string>;
  model: string;
  /** Processes that serve this target (CPU is summed over them and their children). */
  pids: number[];
}

/** Why a body is not the complete chat.completion the mock's answer should have become; null when it is. */
function completionProblem(body: unknown): string | null {
  if (typeof body !== "object" || body === null) return "body is not a JSON object";
  const b = body as Record<string, unknown>;
  if (b.object !== "chat.completion") return `object is ${JSON.stringify(b.object)}`;
  if (typeof b.id !== "string" || b.id === "") return "no id";
  if (typeof b.created !== "number" || !Number.isInteger(b.created)) return "created is not an integer";
  if (typeof b.model !== "string" || b.model === "") return "no model";
  if (!Array.isArray(b.choices) || b.choices.length !== 1) return "choices is not one item";
  const c = b.choices[0] as Record<string, unknown>;
  const m = c.message as Record<string, unknown> | undefined;
  if (c.index !== 0) return "choices[0].index is not 0";
  if (m?.role !== "assistant") return "message.role is not assistant";
  if (m.content !== REPLY) return `message.content is ${JSON.stringify(m.content)}, the mock said ${JSON.stringify(REPLY)}`;
  if (c.finish_reason !== "stop") return `finish_reason is ${JSON.stringify(c.finish_reason)}`;
  if (!("logprobs" in c) || c.logprobs !== null) return "choices[0].logprobs is not null";
  const u = b.usage as Record<string, unknown> | undefined;
  if (u?.prompt_tokens !== USAGE.prompt_tokens || u.completion_tokens !== USAGE.completion_tokens || u.total_tokens !== USAGE.total_tokens) {
    return `usage ${JSON.stringify(u)} is not the mock's ${JSON.stringify(USAGE)}`;
  }
  return null;
}

/** A request function on one pool; non-200s and bodies that fail {@link completionProblem} throw. */
export function requester(t: Target, pool: Pool, statuses: Record<string, number>) {
  const headers = { ...t.headers, "content-type": "application/json" };
  return async (i: number): Promise<void> => {
    const body = JSON.stringify({ model: t.model, messages: [{ role: "user", content: `bench ${t.name} ${i}: say hello` }] });
    const res = await pool.request({ method: "POST", path: "/v1/chat/completions", headers, body });
    const text = await res.body.text();
    statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
    if (res.statusCode !== 200) throw new Error(`${t.name}: HTTP ${res.statusCode} ${text.slice(0, 400)}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${t.name}: 200 with a body that is not JSON: ${text.slice(0, 200)}`);
    }
    const problem = completionProblem(json);
    if (problem) throw new Error(`${t.name}: 200 but ${problem}: ${text.slice(0, 300)}`);
  };
}

export const newPool = (t: Target, connections: number, cfg: Config) =>
  new Pool(t.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: cfg.requestTimeoutMs, bodyTimeout: cfg.requestTimeoutMs });

/** Closes a pool, aborting whatever is still outstanding after a short wait (a stuck request must not hold the bench). */
export async function closePool(pool: Pool): Promise<void> {
  const closed = await Promise.race([pool.close().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref())]);
  if (!closed) await pool.destroy().catch(() => undefined);
}
