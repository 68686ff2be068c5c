import { ProviderError, type EmbeddingRequest, type EmbeddingResult } from "../types";
import { isRecord, type OpenAIContext } from "./chat";
import { toProviderError } from "../http/errors";

/**
 * `POST /embeddings`: one vector per text, in input order. Asks for `encoding_format: "float"`
 * (plain JSON numbers), which every OpenAI-compatible server supports; base64 saves bytes but
 * several compatible servers do not implement it.
 */
export async function embed(ctx: OpenAIContext, texts: string[], model: string, opts: { signal?: AbortSignal } = {}): Promise<number[][]> {
  if (texts.length === 0) return [];
  return (await createEmbeddings(ctx, { model, input: texts, signal: opts.signal })).vectors;
}

/** `POST /embeddings` with `dimensions` and `user` passed on, and the usage the API reports. */
export async function createEmbeddings(ctx: OpenAIContext, req: EmbeddingRequest): Promise<EmbeddingResult> {
  const provider = ctx.http.name;
  const { signal, input: texts } = req;
  const payload: Record<string, unknown> = { model: req.model, input: texts, encoding_format: "float" };
  if (req.dimensions !== undefined) payload.dimensions = req.dimensions;
  if (req.user !== undefined) payload.user = req.user;
  const body = await ctx.http.post("/embeddings", payload, { signal, accept: "application/json", bodyTimeoutMs: ctx.timeoutMs });
  let json: unknown;
  try {
    json = await body.json();
  } catch (err) {
    if (err instanceof SyntaxError) throw new ProviderError("malformed", `${provider}: embeddings response is not JSON`, { provider, cause: err });
    throw toProviderError(err, { provider, signal, phase: "body" });
  }
  const data = isRecord(json) && Array.isArray(json.data) ? json.data : undefined;
  const vectors: number[][] = new Array<number[]>(texts.length);
  for (const [i, item] of (data ?? []).entries()) {
    const index = isRecord(item) && typeof item.index === "number" ? item.index : i;
    const vector = isRecord(item) ? item.embedding : undefined;
    if (!Array.isArray(vector) || !vector.every((x) => typeof x === "number")) continue;
    vectors[index] = vector;
  }
  for (let i = 0; i < texts.length; i++) {
    if (vectors[i] === undefined) throw new ProviderError("malformed", `${provider}: embeddings response lacks a float vector for input ${i}`, { provider });
  }
  const usage = isRecord(json) && isRecord(json.usage) ? json.usage : undefined;
  return { vectors, usage: usage && typeof usage.prompt_tokens === "number" ? { inputTokens: usage.prompt_tokens } : null };
}
