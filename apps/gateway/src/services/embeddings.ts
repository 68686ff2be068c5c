import {
  ApiError,
  MAX_EMBEDDING_INPUTS,
  newId,
  priceEmbedding,
  priceEmbeddingUsage,
  UsageEvent,
  type EmbeddingModelEntry,
  type OpenAIEmbeddingRequest,
  type OpenAIEmbeddingResponse,
} from "@switchyard/contracts";
import { countInputTokens, O200K_MAX_TOKEN_BYTES } from "@switchyard/admission";
import { isProviderError, type EmbeddingResult } from "@switchyard/providers";
import { addLogContext } from "@switchyard/telemetry";
import type { GatewayResources } from "../resources";
import type { Principal } from "@switchyard/contracts";
import { admitSpend, checkTokensPerRequest, type Admitted } from "./admission";
import { refuseDuringMaintenance } from "./maintenance";
import type { DeploymentSettings } from "./deployment-cache";
import { encodeEmbedding } from "./embeddings-format";
import { batchIdOf } from "./job-payloads";
import { CL100K_VOCAB_SIZE, decodeCl100k } from "@switchyard/tokenizer";

/** What the token-count pool adds to one message besides its text; subtracted to count a bare input. */
const MESSAGE_FRAMING_TOKENS = countInputTokens([{ role: "user", content: "" }]);

export interface EmbeddingsAnswer {
  body: OpenAIEmbeddingResponse;
  /** The request's id in the usage ledger (`usage_events.job_id`, attempt 1). */
  id: string;
  /** RateLimit headers for the response. */
  headers: Record<string, string>;
}

/**
 * `POST /v1/embeddings`, inline (no queue: one bounded provider call): validate against the
 * catalog and the deployment, count every input exactly, then the admission tail every spending
 * route shares (rate limits, budget reservation), the call under a timeout, settlement of the
 * actual cost and one usage event (`emb_…`, attempt 1) for the ledger. A failed call releases
 * the reservation and bills nothing.
 */
export async function createEmbeddings(r: GatewayResources, p: Principal, req: OpenAIEmbeddingRequest, clientSignal: AbortSignal): Promise<EmbeddingsAnswer> {
  await refuseDuringMaintenance(r.maintenance);
  const d = await r.deployments.get(p.deploymentId);
  const entry = embeddingModel(r, req.model, d);
  const inputs = await textInputs(req.input);
  const dimensions = checkDimensions(entry, req.dimensions);
  const perInput = await countInputs(r, inputs, entry, d);
  const counted = perInput.reduce((a, b) => a + b, 0);
  checkTokensPerRequest(r, d, counted, "input", "its inputs");

  const started = new Date();
  const id = newId("emb", started.getTime());
  addLogContext({ jobId: id });
  const tier = req.user ? await r.deployments.endUserTier(d.id, req.user) : null;
  const admitted = await admitSpend(r, id, d, {
    tokens: counted,
    usd: priceEmbedding(entry, counted),
    endUser: req.user && tier ? { id: req.user, tier } : undefined,
  });

  const { provider, simulated } = r.providers.forEmbeddingModel(entry);
  let result: EmbeddingResult;
  const timeout = AbortSignal.timeout(r.config.embeddingsTimeoutMs);
  try {
    result = await provider.createEmbeddings({
      model: entry.upstream_model,
      input: inputs,
      // Only a model that can shorten its vectors is sent `dimensions` (its own length needs no asking).
      dimensions: entry.flexible_dimensions && req.dimensions !== undefined ? req.dimensions : undefined,
      user: req.user,
      signal: AbortSignal.any([clientSignal, timeout]),
    });
    checkVectors(entry, result, inputs.length, dimensions);
  } catch (err) {
    await r.budgets.release(id).catch((e: Error) => r.logger.warn({ err: e.message, id }, "embeddings reservation not released (it expires)"));
    throw upstreamError(err, entry, timeout.aborted ? r.config.embeddingsTimeoutMs : null);
  }

  const reported = result.usage?.inputTokens;
  const tokens = reported ?? counted;
  // A batch line (the batch runner's principal) pays the batch price, and its ledger row names the batch.
  const batchId = batchIdOf(p);
  const cost = priceEmbeddingUsage(entry, tokens, { batch: batchId !== undefined });
  await bill(r, p, d, admitted, {
    job_id: id,
    attempt: 1,
    tenant_id: p.tenantId,
    deployment_id: d.id,
    api_key_id: p.keyId,
    end_user: req.user ?? null,
    batch_id: batchId ?? null,
    requested_model: req.model,
    served_model: entry.id,
    provider: entry.provider,
    status: "succeeded",
    input_tokens: tokens,
    output_tokens: 0,
    cached_tokens: 0,
    cost_usd: cost,
    provenance: reported === undefined ? "estimated" : "reported",
    ttft_ms: null,
    latency_ms: Date.now() - started.getTime(),
    fallbacks: 0,
    features: ["embeddings"],
    rag: null,
    occurred_at: started.toISOString(),
    credits_tenant_id: admitted.budget.credits_tenant_id,
    job: null,
  });
  r.logger.info({ model: entry.id, simulated, inputs: inputs.length, tokens, costUsd: cost, deploymentId: d.id }, "embeddings served");
  const format = req.encoding_format ?? "float";
  return {
    body: {
      object: "list",
      data: result.vectors.map((v, index) => ({ object: "embedding", index, embedding: encodeEmbedding(v, format) })),
      model: entry.id,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    },
    id,
    headers: admitted.headers,
  };
}

/** The catalog embedding model a request names, if the deployment may use it. */
function embeddingModel(r: GatewayResources, id: string, d: DeploymentSettings): EmbeddingModelEntry {
  const entry = (r.catalog.embedding_models ?? []).find((m) => m.id === id);
  if (!entry) {
    if (r.catalog.models.some((m) => m.id === id))
      throw new ApiError("invalid_request", `model: ${id} is a chat model; embeddings need an embedding model (GET /v1/models lists them)`, "model");
    throw new ApiError("model_not_found", `model: ${id} is not an embedding model in the catalog (GET /v1/models lists them)`, "model");
  }
  if (d.allowedModels && !d.allowedModels.includes(entry.id))
    throw new ApiError("model_not_allowed", `model: ${id} is not allowed on this deployment`, "model");
  return entry;
}

/**
 * `input` as texts: 1 to 2048 non-empty strings, or token arrays (a flat one, or one per input),
 * read as cl100k_base tokens (what OpenAI's embedding models and tiktoken-based clients use) and
 * decoded to text, so every provider can embed them.
 */
async function textInputs(input: OpenAIEmbeddingRequest["input"]): Promise<string[]> {
  const list = typeof input === "string" ? [input] : input;
  if (list.length === 0) throw new ApiError("invalid_request", "input: must not be an empty array", "input");
  if (typeof list[0] === "number") return [await tokenText(list as number[], "input")];
  if (Array.isArray(list[0])) {
    const arrays = list as number[][];
    if (arrays.length > MAX_EMBEDDING_INPUTS)
      throw new ApiError("invalid_request", `input: at most ${MAX_EMBEDDING_INPUTS} inputs per request, got ${arrays.length}`, "input");
    return Promise.all(arrays.map((tokens, i) => tokenText(tokens, `input[${i}]`)));
  }
  if (list.length > MAX_EMBEDDING_INPUTS)
    throw new ApiError("invalid_request", `input: at most ${MAX_EMBEDDING_INPUTS} inputs per request, got ${list.length}`, "input");
  const texts = list as string[];
  const empty = texts.findIndex((t) => t.length === 0);
  if (empty >= 0) throw new ApiError("invalid_request", `input: input[${empty}] is an empty string`, "input");
  return texts;
}

/** One token array's text; ids outside cl100k_base are a 400 naming the input. */
async function tokenText(tokens: number[], field: string): Promise<string> {
  if (tokens.length === 0) throw new ApiError("invalid_request", `${field}: must not be an empty token array`, "input");
  const bad = tokens.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= CL100K_VOCAB_SIZE);
  if (bad >= 0)
    throw new ApiError(
      "invalid_request",
      `${field}: token ${tokens[bad]} at position ${bad} is not a cl100k_base token id (0 … ${CL100K_VOCAB_SIZE - 1})`,
      "input",
    );
  try {
    return await decodeCl100k(tokens);
  } catch {
    // The few unassigned ids between the ranks and the special tokens (e.g. 100256).
    throw new ApiError("invalid_request", `${field}: holds an id that is not a cl100k_base token`, "input");
  }
}

/** The vector length the answer will have; 400 naming `dimensions` when the model cannot give it. */
function checkDimensions(entry: EmbeddingModelEntry, asked: number | undefined): number {
  if (asked === undefined || asked === entry.dimensions) return entry.dimensions;
  if (!entry.flexible_dimensions)
    throw new ApiError("unsupported_parameter", `dimensions: ${entry.id} returns ${entry.dimensions}-dimensional vectors only`, "dimensions");
  if (asked > entry.dimensions) throw new ApiError("invalid_request", `dimensions: ${entry.id} returns at most ${entry.dimensions} dimensions`, "dimensions");
  return asked;
}

/**
 * Exact tokens of each input (o200k, on the token-count pool's threads for large texts). An input
 * whose bytes alone prove it too long (no token is longer than 128 bytes), or a request whose
 * bytes alone cannot fit `tokens_per_request`, is refused before any tokenizer runs.
 */
async function countInputs(r: GatewayResources, inputs: string[], entry: EmbeddingModelEntry, d: DeploymentSettings): Promise<number[]> {
  let floor = 0;
  for (const [i, text] of inputs.entries()) {
    const least = Math.ceil(Buffer.byteLength(text, "utf8") / O200K_MAX_TOKEN_BYTES);
    if (least > entry.max_input_tokens) throw tooLong(entry, i, least, true);
    floor += least;
  }
  if (floor > d.rateLimits.tokens_per_request) {
    r.metrics.rateLimitRejections.add(1, { reason: "tokens_per_request" });
    throw new ApiError(
      "request_too_large",
      `input: at least ${floor} tokens, more than this deployment's limit of ${d.rateLimits.tokens_per_request} tokens per request (tokens_per_request)`,
      "input",
    );
  }
  let counts: number[];
  try {
    counts = await Promise.all(inputs.map(async (text) => (await r.tokenCounter.count([{ role: "user", content: text }])) - MESSAGE_FRAMING_TOKENS));
  } catch (err) {
    if ((err as Error).name === "TokenCountBusyError")
      throw new ApiError("service_unavailable", "input: too much text is waiting to be counted on this gateway; retry shortly", "input", {
        "Retry-After": "1",
      });
    throw err;
  }
  const over = counts.findIndex((n) => n > entry.max_input_tokens);
  if (over >= 0) throw tooLong(entry, over, counts[over]!, false);
  return counts;
}

const tooLong = (entry: EmbeddingModelEntry, i: number, tokens: number, atLeast: boolean) =>
  new ApiError(
    "invalid_request",
    `input: input[${i}] has ${atLeast ? "at least " : ""}${tokens} tokens; ${entry.id} takes at most ${entry.max_input_tokens} per input`,
    "input",
  );

/** A provider that answers with the wrong number or length of vectors has failed the call. */
function checkVectors(entry: EmbeddingModelEntry, result: EmbeddingResult, inputs: number, dimensions: number): void {
  if (result.vectors.length !== inputs)
    throw new ApiError("upstream_error", `${entry.id}: the provider returned ${result.vectors.length} vectors for ${inputs} inputs`);
  const bad = result.vectors.find((v) => v.length !== dimensions);
  if (bad)
    throw new ApiError(
      "upstream_error",
      `${entry.id}: the provider returned ${bad.length}-dimensional vectors, expected ${dimensions} (check the catalog's dimensions)`,
    );
}

/** Provider failures in OpenAI's terms: upstream 429 → 429 with Retry-After, a refused request → 400, the rest → 502. */
function upstreamError(err: unknown, entry: EmbeddingModelEntry, timedOutAfterMs: number | null): unknown {
  if (timedOutAfterMs !== null) return new ApiError("upstream_error", `${entry.id}: the provider did not answer within ${timedOutAfterMs} ms`);
  if (!isProviderError(err)) return err;
  switch (err.kind) {
    case "rate_limited":
      return new ApiError("rate_limited", `${entry.id}: the provider is rate limiting; retry later`, undefined, {
        "Retry-After": String(Math.max(1, Math.ceil((err.retryAfterMs ?? 1000) / 1000))),
      });
    case "bad_request":
      return new ApiError("invalid_request", `${entry.id}: the provider refused the request: ${err.message}`);
    default:
      return new ApiError("upstream_error", `${entry.id}: the provider failed (${err.kind}${err.status ? ` ${err.status}` : ""})`);
  }
}

/**
 * Settle the actual cost into the budgets the reservation was made in (releasing the rest), then
 * hand the usage event to the ledger, in that order (as the budget ledger asks). The provider has
 * answered by now: a failure here is logged, not turned into an error the client would retry
 * (and pay for again); an unsettled reservation expires as an orphan.
 */
async function bill(r: GatewayResources, p: Principal, d: DeploymentSettings, admitted: Admitted, raw: UsageEvent): Promise<void> {
  const ev = UsageEvent.parse(raw);
  try {
    const b = admitted.budget;
    if (b.scopes.length > 0 || b.credits_tenant_id) {
      await r.budgets.settle(
        ev.job_id,
        ev.attempt,
        { usd: ev.cost_usd, tokens: ev.input_tokens },
        { final: true, scopes: b.scopes, creditsTenantId: b.credits_tenant_id ?? undefined },
      );
    }
    await r.queues.enqueue("ai-usage", ev, { jobId: `u-${ev.job_id}-${ev.attempt}` });
    r.metrics.countEnqueue("ai-usage");
  } catch (err) {
    r.logger.error(
      { err: (err as Error).message, id: ev.job_id, tenantId: p.tenantId, deploymentId: d.id, costUsd: ev.cost_usd },
      "embeddings usage not recorded",
    );
  }
}
