import { toProviderError } from "../openai/errors";
import { ProviderError } from "../types";
import { isRecord } from "./chat";
import { geminiErrorFromPayload, readGeminiError } from "./errors";
import { methodPath, modelResource, type GeminiContext } from "./request";

/**
 * `POST /{version}/models/{model}:batchEmbedContents`: one vector per text, in input order.
 * Texts are sent in batches of `embedBatchSize` (default 100, the limit the API enforces per
 * request), one batch after the other. Gemini reports no token usage for embeddings.
 */
export async function embed(ctx: GeminiContext, texts: string[], model: string, opts: { signal?: AbortSignal } = {}): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < texts.length; i += ctx.embedBatchSize) {
    out.push(...(await embedBatch(ctx, texts.slice(i, i + ctx.embedBatchSize), model, opts.signal, i)));
  }
  return out;
}

async function embedBatch(ctx: GeminiContext, texts: string[], model: string, signal: AbortSignal | undefined, offset: number): Promise<number[][]> {
  const provider = ctx.http.name;
  const resource = modelResource(model);
  const payload = { requests: texts.map((text) => ({ model: resource, content: { parts: [{ text }] } })) };
  const body = await ctx.http.post(methodPath(ctx, model, "batchEmbedContents"), payload, { signal, accept: "application/json", bodyTimeoutMs: ctx.timeoutMs });
  let json: unknown;
  try {
    json = await body.json();
  } catch (err) {
    if (err instanceof SyntaxError) throw new ProviderError("malformed", `${provider}: embeddings response is not JSON`, { provider, cause: err });
    throw toProviderError(err, { provider, signal, phase: "body" });
  }
  const error = readGeminiError(json);
  if (error) throw geminiErrorFromPayload(provider, error);
  const embeddings = isRecord(json) && Array.isArray(json.embeddings) ? json.embeddings : [];
  return texts.map((_, i) => {
    const e = embeddings[i];
    const values = isRecord(e) ? e.values : undefined;
    if (!Array.isArray(values) || !values.every((x) => typeof x === "number")) {
      throw new ProviderError("malformed", `${provider}: embeddings response lacks a vector for input ${offset + i}`, { provider });
    }
    return values as number[];
  });
}
