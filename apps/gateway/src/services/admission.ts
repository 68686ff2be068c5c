import { ApiError, priceUsage, type CreateJobRequest, type EndUserTier, type JobBudget, type ModelEntry } from "@switchyard/contracts";
import {
  checkBudgetAlerts,
  checkTokensPerRequestFloor,
  estimateOutputTokens,
  type BudgetScope,
  type BudgetScopeRef,
  type BudgetUsage,
  type CreditsCheck,
  type RateLimitDecision,
  type ReserveResult,
} from "@switchyard/admission";
import { admitAndCreateJob } from "./admit-job";
import { creditBalance } from "@switchyard/db";
import type { FairDecision } from "@switchyard/queue";
import { jobNeeds } from "@switchyard/providers";
import type { GatewayResources } from "../resources";
import type { DeploymentSettings } from "./deployment-cache";

export interface Admitted {
  budget: JobBudget;
  /** Share of the tightest budget in use after this reservation (routing drops a tier at 0.9). */
  budgetUsedRatio: number;
  /** RateLimit headers for the response. */
  headers: Record<string, string>;
}

/** Models a request could end up on: the explicit one, or every model its deployment allows. */
function candidates(r: GatewayResources, req: CreateJobRequest, d: DeploymentSettings): ModelEntry[] {
  if (req.model !== "auto") return r.catalog.models.filter((m) => m.id === req.model);
  const allowed = r.catalog.models.filter((m) => !d.allowedModels || d.allowedModels.includes(m.id));
  // Only models with the capabilities the request needs can serve it (checkModel made sure one can).
  const needs = jobNeeds(req);
  const capable = allowed.filter((m) => (!needs.tools || m.capabilities.tools === true) && (!needs.json_schema || m.capabilities.json_schema === true));
  return capable.length > 0 ? capable : allowed;
}

/** The budgets that apply to a request: its deployment's and its tenant's. */
export function budgetScopes(d: DeploymentSettings): BudgetScope[] {
  const scopes: BudgetScope[] = [];
  if (d.budget) scopes.push({ scope: "deployment", id: d.id, budget: d.budget, timezone: d.tenant.timezone });
  if (d.tenant.budget) scopes.push({ scope: "tenant", id: d.tenantId, budget: d.tenant.budget, timezone: d.tenant.timezone });
  return scopes;
}

/**
 * What one job may spend, counted and priced before any Redis step: input tokens counted
 * exactly, output estimated (capped by `max_tokens` when given), priced at the dearest model the
 * request could be served by, so the reservation is never below what the job can cost.
 * A request over `tokens_per_request` is a 400 `request_too_large` before any Redis step (so it
 * consumes no rate limit or budget): by its byte length alone (no token is longer than 128 bytes)
 * before any tokenizer runs, else by its exact count.
 */
/** `opts.batch`: a Batch API line, reserved at the batch price its run is billed at (the catalog's `pricing.batch`). */
export async function jobSpend(
  r: GatewayResources,
  req: CreateJobRequest,
  d: DeploymentSettings,
  endUserTier: EndUserTier | null,
  opts: { batch?: boolean } = {},
): Promise<Spend> {
  const models = candidates(r, req, d);
  const maxOutput = Math.max(...models.map((m) => m.max_output_tokens));
  const outputTokens = estimateOutputTokens(req.max_tokens, maxOutput);
  // Declared tools' schemas and a json_schema format are input too: the provider is sent them.
  const floor = checkTokensPerRequestFloor(req.messages, outputTokens, d.rateLimits.tokens_per_request, req);
  if (!floor.ok) {
    r.metrics.rateLimitRejections.add(1, { reason: floor.reason });
    throw new ApiError("request_too_large", floor.message, floor.param);
  }
  const inputTokens = await countTokens(r, req);
  const tokens = inputTokens + outputTokens;
  checkTokensPerRequest(r, d, tokens, "messages", "input plus max_tokens");
  const usd = Math.max(...models.map((m) => priceUsage(m, { input_tokens: inputTokens, output_tokens: outputTokens }, { batch: opts.batch })));
  return { tokens, usd, endUser: req.user && endUserTier ? { id: req.user, tier: endUserTier } : undefined };
}

/**
 * 400 `request_too_large` (naming `param`, the limit and the request's count) for a request whose
 * counted tokens are over its deployment's `tokens_per_request`, or over its whole
 * `tokens_per_day`: no wait can make it fit, so it is not a 429 (an SDK would retry it forever).
 * Checked before the admission script, which would refuse it too.
 */
export function checkTokensPerRequest(r: GatewayResources, d: DeploymentSettings, tokens: number, param: string, what: string): void {
  const { tokens_per_request: perRequest, tokens_per_day: perDay } = d.rateLimits;
  if (tokens <= perRequest && tokens <= perDay) return;
  const [limit, name] = tokens > perRequest ? [perRequest, "tokens_per_request"] : [perDay, "tokens_per_day"];
  r.metrics.rateLimitRejections.add(1, { reason: name });
  throw new ApiError(
    "request_too_large",
    `${param}: this request needs ${tokens} tokens (${what}), over this deployment's limit of ${limit} tokens ${name === "tokens_per_day" ? "per day" : "per request"} (${name}), so no wait can make it fit. Shorten the input or lower the output limit.`,
    param,
  );
}

/** The budget a job reserves in: its deployment's and tenant's scopes, and prepaid credits. */
export function jobBudget(d: DeploymentSettings, spend: Spend): JobBudget {
  return {
    scopes: budgetScopes(d),
    credits_tenant_id: d.tenant.billingMode === "prepaid" ? d.tenantId : null,
    reserved_usd: spend.usd,
    reserved_tokens: spend.tokens,
  };
}

/** A prepaid tenant's credit check for the reservation (its balance loaded from the ledger when Redis holds none); none when postpaid. */
function creditsCheck(r: GatewayResources, budget: JobBudget): CreditsCheck | undefined {
  const tenantId = budget.credits_tenant_id;
  return tenantId === null ? undefined : { tenantId, loadBalance: async () => (await creditBalance(r.db, tenantId)).balance_usd };
}

export type JobAdmission = ({ kind: "created"; fair: FairDecision | null } & Admitted) | { kind: "exists"; jobId: string; bodyHash: string };

/**
 * Admit and create one job in a single Redis step (`admitAndCreateJob`): idempotency claim, rate
 * limits, budget reservation and the job record, and (`fair`: the gate's decision half) the fair
 * gate's decision for it. A key already claimed comes back as `exists` with nothing spent; a
 * refusal throws the same errors `admitSpend` does, having consumed nothing.
 */
export async function admitJob(
  r: GatewayResources,
  jobId: string,
  d: DeploymentSettings,
  spend: Spend,
  create: { keys: string[]; argv: string[] },
  fair: { keys: string[]; argv: string[] } | null = null,
): Promise<JobAdmission> {
  const budget = jobBudget(d, spend);
  const { scopes } = budget;
  const prepaid = budget.credits_tenant_id !== null;
  const rl = r.rateLimiter.prepare({ deploymentId: d.id, limits: d.rateLimits, tokens: spend.tokens, endUser: spend.endUser });
  const plan = scopes.length || prepaid ? r.budgets.prepareReserve(jobId, scopes, { usd: spend.usd, tokens: spend.tokens }, creditsCheck(r, budget)) : null;
  const out = await admitAndCreateJob(r.redis, create, rl, plan, fair);
  switch (out.kind) {
    case "exists":
      return out;
    case "limited":
      throw rateLimited(r, d, out.decision);
    case "refused":
      throw await budgetRefused(r, d, scopes, out.budget, out.decision.headers);
    case "created":
      if (out.usage.length) await budgetAlerts(r, d, scopes, out.usage); // Alerts: thresholds this reservation reached.
      return {
        kind: "created",
        budget,
        budgetUsedRatio: Math.max(0, ...out.usage.map((u) => u.used_ratio)),
        headers: out.decision.headers,
        fair: out.fair,
      };
  }
}

function rateLimited(r: GatewayResources, d: DeploymentSettings, decision: Extract<RateLimitDecision, { allowed: false }>): ApiError {
  r.metrics.rateLimitRejections.add(1, { reason: decision.reason });
  // Routes check these before the script; should one not, it is still no 429: waiting cannot help.
  if (decision.reason === "tokens_per_request" || (decision.reason === "tokens_per_day" && decision.retryAfterSeconds === 0))
    return new ApiError("request_too_large", decision.message);
  r.metrics.rateLimitByDeployment.add(1, { deployment: d.id, deployment_type: d.type });
  return new ApiError("rate_limited", decision.message, undefined, {
    ...decision.headers,
    ...(decision.retryAfterSeconds > 0 ? { "Retry-After": String(decision.retryAfterSeconds) } : {}),
  });
}

/** The 402 for a refused reservation; the refusing budget's 100 % alert is in the queue before it goes out. */
async function budgetRefused(
  r: GatewayResources,
  d: DeploymentSettings,
  scopes: BudgetScope[],
  res: Extract<ReserveResult, { ok: false }>,
  headers: Record<string, string>,
): Promise<ApiError> {
  r.metrics.budgetRefusals.add(1, { code: res.code });
  if (res.code === "budget_exhausted") await budgetAlerts(r, d, scopes, null, res.scope);
  const fmt = (n: number) => (res.unit === "usd" ? `$${n.toFixed(6)}` : `${n} tokens`);
  const what = res.code === "insufficient_credits" ? "credit balance" : `${res.scope?.scope ?? "budget"} ${res.scope?.id ?? ""} budget`.trim();
  return new ApiError(
    res.code,
    `${what} cannot cover this request: limit ${fmt(res.limit)}, spent ${fmt(res.spent)}, reserved ${fmt(res.reserved)}, this request needs up to ${fmt(res.requested)}`,
    undefined,
    headers,
  );
}

/** What one request may spend, as its route counted and priced it (the most it can cost). */
export interface Spend {
  tokens: number;
  usd: number;
  endUser?: { id: string; tier: EndUserTier };
}

/**
 * Rate limits, then the budget reservation (and prepaid credits) under `jobId`, for a request
 * whose tokens and highest cost are known: the tail of admission every route that can spend
 * shares (`admit` for jobs; `POST /v1/embeddings`, which counts its own input).
 */
export async function admitSpend(r: GatewayResources, jobId: string, d: DeploymentSettings, spend: Spend): Promise<Admitted> {
  const { tokens, usd } = spend;
  const decision = await r.rateLimiter.check({ deploymentId: d.id, limits: d.rateLimits, tokens, endUser: spend.endUser });
  if (!decision.allowed) throw rateLimited(r, d, decision);
  const budget = jobBudget(d, spend);
  const { scopes } = budget;
  const prepaid = budget.credits_tenant_id !== null;
  if (scopes.length === 0 && !prepaid) return { budget, budgetUsedRatio: 0, headers: decision.headers };
  const res = await r.budgets.reserve(jobId, scopes, { usd, tokens }, creditsCheck(r, budget));
  if (!res.ok) throw await budgetRefused(r, d, scopes, res, decision.headers);
  const usage = scopes.length ? await r.budgets.usage(scopes) : [];
  if (usage.length) await budgetAlerts(r, d, scopes, usage); // Alerts: thresholds this reservation reached.
  return { budget, budgetUsedRatio: Math.max(0, ...usage.map((u) => u.used_ratio)), headers: decision.headers };
}

/** The exact input count; a pool already full of text to count is a 503 with `Retry-After`, not a wait without end. */
async function countTokens(r: GatewayResources, req: CreateJobRequest): Promise<number> {
  try {
    return await r.tokenCounter.count(req.messages, req);
  } catch (err) {
    if ((err as Error).name === "TokenCountBusyError")
      throw new ApiError("service_unavailable", `messages: too much text is waiting to be counted on this gateway; retry shortly`, "messages", {
        "Retry-After": "1",
      });
    throw err;
  }
}

// --- Alerts (budget thresholds) -------------------------------------------------------------
/**
 * Raise the budget alerts `usage` (read now when null) has crossed, and 100 % for a scope that
 * just refused; note the deployment's ratio for the `budget_used_ratio` gauge. Never fails
 * admission: an alert that could not be queued is logged and its claim given back, so the next
 * request tries again.
 */
async function budgetAlerts(
  r: GatewayResources,
  d: DeploymentSettings,
  scopes: BudgetScope[],
  usage: BudgetUsage[] | null,
  exhausted?: BudgetScopeRef,
): Promise<void> {
  try {
    const u = usage ?? (await r.budgets.usage(scopes));
    r.alerts.usedRatios.note(d.id, u);
    await checkBudgetAlerts(r.alerts.firer, u, d.tenantId, { exhausted, extra: { deployment_id: d.id, trigger: exhausted ? "rejection" : "admission" } });
  } catch (err) {
    r.logger.warn({ err: (err as Error).message, deploymentId: d.id }, "budget alert not raised");
  }
}
