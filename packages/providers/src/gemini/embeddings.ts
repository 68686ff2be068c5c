import { toProviderError } from "../http/errors";
import { ProviderError, type EmbeddingRequest, type EmbeddingResult } from "../types";
import { isRecord } from "./chat";
import { geminiErrorFromPayload, readGeminiError } from "./errors";
import { methodPath, modelResource, type GeminiContext } from "./request";

/**
 * `POST /{version}/models/{model}:batchEmbedContents`: one vector per text, in input order.
 * Texts are sent in batches of `embedBatchSize` (default 100, the limit the API enforces per
 * request), one batch after the other. Gemini reports no token usage for embeddings.
 */
export async function embed(ctx: GeminiContext, texts: string[], model: string, opts: { signal?: AbortSignal } = {}): Promise<number[][]> {
  return (await createEmbeddings(ctx, { model, input: texts, signal: opts.signal })).vectors;
}

/**
 * `embed` with `dimensions` sent as each request's `outputDimensionality`. Gemini normalises only
 * its full-length vectors, so shortened ones are scaled to unit length here, as OpenAI returns them.
 */
export async function createEmbeddings(ctx: GeminiContext, req: EmbeddingRequest): Promise<EmbeddingResult> {
  const out: number[][] = [];
  for (let i = 0; i < req.input.length; i += ctx.embedBatchSize) {
    out.push(...(await embedBatch(ctx, req.input.slice(i, i + ctx.embedBatchSize), req.model, req.signal, i, req.dimensions)));
  }
  return { vectors: req.dimensions === undefined ? out : out.map(unitLength), usage: null };
}

function unitLength(v: number[]): number[] {
  const norm = Math.hypot(...v);
  return norm === 0 ? v : v.map((x) => x / norm);
}

async function embedBatch(
  ctx: GeminiContext,
  texts: string[],
  model: string,
  signal: AbortSignal | undefined,
  offset: number,
  dimensions?: number,
): Promise<number[][]> {
  const provider = ctx.http.name;
  const resource = modelResource(model);
  const payload = {
    requests: texts.map((text) => ({
      model: resource,
      content: { parts: [{ text }] },
      ...(dimensions !== undefined ? { outputDimensionality: dimensions } : {}),
    })),
  };
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
  const embeddings: unknown[] = isRecord(json) && Array.isArray(json.embeddings) ? json.embeddings : [];
  return texts.map((_, i) => {
    const e = embeddings[i];
    const values = isRecord(e) ? e.values : undefined;
    if (!Array.isArray(values) || !values.every((x) => typeof x === "number")) {
      throw new ProviderError("malformed", `${provider}: embeddings response lacks a vector for input ${offset + i}`, { provider });
    }
    return values;
  });
}
