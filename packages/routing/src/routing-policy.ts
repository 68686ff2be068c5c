import {
  ProviderName,
  type AgentChatMessage,
  type ChatMessage,
  type FallbackKind,
  type ModelCatalog,
  type ModelEntry,
  type ModelTier,
} from "@switchyard/contracts";
import type { BreakerState } from "./circuit-breaker";
import { classifyRequest, type Classification, type RequestComplexity } from "./classify";
import { RoutingError } from "./routing-error";

/** Label for `ai_model_selected_total{reason}`: the rule that decided the choice. */
export type RouteReason = "explicit" | "smart_routing" | "default" | "vision" | "complex" | "budget_downgrade" | "provider_outage" | "preference";
export type { FallbackKind };
/** Why a catalog model is not in the chain. */
export type SkipReason =
  | "not_allowed"
  | "no_vision"
  | "no_tools"
  | "no_json_schema"
  | "unsupported_fields"
  | "below_floor"
  | "above_tier"
  | "context_window"
  | "provider_outage"
  | "breaker_open";

/** Catalog capabilities a request needs besides vision (which the messages tell). */
export interface RouteNeeds {
  /** The request declares tools (or carries tool turns the provider must understand). */
  tools?: boolean;
  /** The request asks for `response_format` json_schema. */
  json_schema?: boolean;
}

/** The slice of a deployment's settings that routing reads. */
export interface RouteDeployment {
  smartRouting: boolean;
  visionEnabled: boolean;
  /** A catalog id or a provider name ("anthropic"): preferred within the chosen tier. Ignored for explicit models. */
  modelPreference?: string | null;
  /** Catalog ids the deployment may use; null or absent = all. */
  allowedModels?: readonly string[] | null;
}

export interface RouteInput {
  /** "auto" or a catalog id. */
  requestedModel: string;
  messages: ReadonlyArray<ChatMessage | AgentChatMessage>;
  catalog: ModelCatalog;
  /** Capabilities every model of the chain must have (`capabilities.tools`, `capabilities.json_schema`). */
  needs?: RouteNeeds;
  /**
   * The request fields a model's provider cannot honour (the adapter's `unsupportedFields`);
   * a model with any is left out, so no fallback lands where the request would be refused.
   */
  unsupportedFields?: (m: ModelEntry) => readonly string[];
  deployment: RouteDeployment;
  /** Share of the deployment's budget used (0 when it has none); ≥ 0.9 moves auto routing one tier down. */
  budgetUsedRatio: number;
  /** Breaker state per model id; a missing id is closed. */
  breakerStates: Readonly<Record<string, BreakerState>>;
  /** The request's `max_tokens`, reserved in the context window on top of the input. */
  maxTokens?: number;
}

/** One fallback in the chain, with the `ai_fallback_total{kind}` label for moving to it from the previous step. */
export interface RouteStep {
  model: ModelEntry;
  kind: FallbackKind;
}

export interface RouteDecision {
  chosen: ModelEntry;
  /** `chosen` first, then the fallbacks in order. */
  chain: ModelEntry[];
  /** `chain` after the first, each with its fallback kind. */
  fallbacks: RouteStep[];
  /** The tier the rules asked for; `chosen.tier` differs only when that tier had no usable model. */
  tier: ModelTier;
  /** Every rule that applied, as short `name:detail` strings, for the stored decision and the trace. */
  reasons: string[];
  reason: RouteReason;
  classification: Classification;
  /** Catalog models left out of the chain and why (first reason found). */
  skipped: Array<{ id: string; why: SkipReason }>;
}

const TIERS: readonly ModelTier[] = ["lite", "flash", "pro"];
const COMPLEXITY_TIER: Record<RequestComplexity, ModelTier> = { simple: "lite", moderate: "flash", complex: "pro" };
/** Budget share from which auto routing drops one tier. */
export const BUDGET_DOWNGRADE_RATIO = 0.9;

const rank = (t: ModelTier): number => TIERS.indexOf(t);

/** Kind of a fallback from one model to the next: lower tier = downgrade, higher = upshift, same tier = error. */
export function fallbackKind(from: ModelEntry, to: ModelEntry): FallbackKind {
  const d = rank(to.tier) - rank(from.tier);
  return d < 0 ? "downgrade" : d > 0 ? "upshift" : "error";
}

/** Tiers in fallback order: the target, then lower ones down to the floor, then higher ones up to the ceiling. */
function tierOrder(target: ModelTier, floor: ModelTier, ceiling: ModelTier): ModelTier[] {
  const down = TIERS.filter((t) => rank(t) <= rank(target) && rank(t) >= rank(floor)).reverse();
  const up = TIERS.filter((t) => rank(t) > rank(target) && rank(t) <= rank(ceiling));
  return [...down, ...up];
}

/** Models in chain order: by tier order, then favourite model, then lead provider, then catalog order. */
function ordered(models: readonly ModelEntry[], tiers: readonly ModelTier[], lead: string | undefined, favourite: string | undefined): ModelEntry[] {
  const key = (m: ModelEntry): number => (m.id === favourite ? 0 : m.provider === lead ? 1 : 2);
  return tiers.flatMap((t) =>
    models
      .map((m, i) => ({ m, i }))
      .filter(({ m }) => m.tier === t)
      .sort((a, b) => key(a.m) - key(b.m) || a.i - b.i)
      .map(({ m }) => m),
  );
}

/**
 * Choose a model and its fallback chain for one request. Pure: the same input gives the same
 * decision, so it can be stored with the job and replayed.
 *
 * - Explicit model: must be allowed (`model_not_allowed`) and, with images, vision-capable
 *   (`no_vision_model`). Chain: it, same-tier models, lower tiers; never a higher tier.
 * - `auto`, smart routing on: complexity picks the tier (simple → lite, moderate → flash,
 *   complex → pro); healthcare never goes below flash, fallbacks and budget included.
 *   Smart routing off: flash, or pro for images or complex requests.
 *   Either way the preference (model or provider) goes first within a tier, else the catalog's
 *   `default_model` and its provider; budget use ≥ 0.9 drops one tier; higher tiers come last in
 *   the chain, so an outage of the cheap tiers still finds a model.
 * - Images: `vision_disabled` when the deployment has vision off; only vision models qualify.
 * - Models whose context window cannot hold input + `maxTokens` are left out.
 * - `needs` (tools, json_schema) leaves out models without the capability, and
 *   `unsupportedFields` those whose provider cannot honour a field of the request, fallbacks
 *   included; an explicit model that cannot is `unsupported_request`, and `auto` with no model
 *   that can is `no_capable_model` (neither is retryable).
 * - Open breakers are skipped (half-open stays: the breaker grants one probe). When every catalog
 *   model of the intended model's provider is open, that provider is left out and routing drops to
 *   the lite tier (the floor for healthcare) of the others: `provider_outage`. This applies to
 *   explicit models too.
 */
export function decideRoute(input: RouteInput): RouteDecision {
  const { catalog, deployment } = input;
  const classification = classifyRequest(input.messages);
  const reasons: string[] = [`classified:${classification.domain}/${classification.complexity}`];
  if (classification.needsVision) {
    if (!deployment.visionEnabled) throw new RoutingError("vision_disabled", "this deployment does not accept images");
    reasons.push("needs_vision");
  }
  const allowedIds = deployment.allowedModels ?? null;
  const allowed = (m: ModelEntry): boolean => allowedIds === null || allowedIds.includes(m.id);
  const needTokens = classification.estimatedInputTokens + (input.maxTokens ?? 0);
  const budget = Number.isFinite(input.budgetUsedRatio) ? input.budgetUsedRatio : 0;
  const explicit = input.requestedModel !== "auto";
  const needs = input.needs ?? {};
  const gapsCache = new Map<string, string[]>();
  // What a model lacks for this request: catalog capabilities first, then the adapter's refusals.
  const capabilityGaps = (m: ModelEntry): string[] => {
    let gaps = gapsCache.get(m.id);
    if (!gaps) {
      gaps = [];
      if (needs.tools && m.capabilities.tools !== true) gaps.push("tools");
      if (needs.json_schema && m.capabilities.json_schema !== true) gaps.push("response_format");
      for (const f of input.unsupportedFields?.(m) ?? []) if (!gaps.includes(f)) gaps.push(f);
      gapsCache.set(m.id, gaps);
    }
    return gaps;
  };
  const capabilitySkip = (m: ModelEntry): SkipReason | null => {
    if (needs.tools && m.capabilities.tools !== true) return "no_tools";
    if (needs.json_schema && m.capabilities.json_schema !== true) return "no_json_schema";
    return capabilityGaps(m).length > 0 ? "unsupported_fields" : null;
  };

  let target: ModelTier;
  let label: RouteReason;
  let floor: ModelTier = "lite";
  let ceiling: ModelTier = "pro";
  let lead: string | undefined;
  let favourite: string | undefined;
  let baselineLead: string | undefined;
  let baselineFavourite: string | undefined;
  if (explicit) {
    const entry = catalog.models.find((m) => m.id === input.requestedModel);
    if (!entry) throw new RoutingError("model_not_found", `model ${input.requestedModel} is not in the catalog`);
    if (!allowed(entry)) throw new RoutingError("model_not_allowed", `this deployment may not use model ${entry.id}`);
    if (classification.needsVision && !entry.capabilities.vision) throw new RoutingError("no_vision_model", `model ${entry.id} cannot read images`);
    const gaps = capabilityGaps(entry);
    if (gaps.length > 0) throw new RoutingError("unsupported_request", `model ${entry.id} cannot honour ${gaps.join(", ")}`);
    target = ceiling = entry.tier;
    label = "explicit";
    lead = baselineLead = entry.provider;
    favourite = baselineFavourite = entry.id;
    reasons.push(`explicit:${entry.id}`);
  } else {
    if (deployment.smartRouting) {
      target = COMPLEXITY_TIER[classification.complexity];
      label = "smart_routing";
    } else if (classification.needsVision) {
      target = "pro";
      label = "vision";
    } else if (classification.complexity === "complex") {
      target = "pro";
      label = "complex";
    } else {
      target = "flash";
      label = "default";
    }
    reasons.push(`${label}:${target}`);
    if (classification.domain === "healthcare") {
      floor = "flash";
      if (rank(target) < rank(floor)) {
        target = floor;
        reasons.push("healthcare_floor:flash");
      }
    }
    if (budget >= BUDGET_DOWNGRADE_RATIO) {
      const down = TIERS[rank(target) - 1];
      if (!down) reasons.push("budget_high:already_lite");
      else if (rank(down) < rank(floor)) reasons.push("budget_downgrade_blocked:healthcare_floor");
      else {
        reasons.push(`budget_downgrade:${target}->${down}`);
        target = down;
        label = "budget_downgrade";
      }
    }
    const defaultEntry = catalog.models.find((m) => m.id === catalog.default_model);
    baselineLead = defaultEntry?.provider;
    baselineFavourite = defaultEntry?.id;
    const pref = deployment.modelPreference ?? null;
    const prefModel = pref === null ? undefined : catalog.models.find((m) => m.id === pref);
    const prefProvider = prefModel?.provider ?? (ProviderName.safeParse(pref).success ? (pref ?? undefined) : undefined);
    if (pref !== null && !prefProvider) reasons.push(`preference_unknown:${pref}`);
    lead = prefProvider ?? baselineLead;
    favourite = prefProvider ? prefModel?.id : baselineFavourite;
  }

  // Static fitness of each model (ignores breakers), then outage detection on the intended model.
  const staticSkip = (m: ModelEntry, tiers: readonly ModelTier[]): SkipReason | null => {
    if (!allowed(m)) return "not_allowed";
    if (classification.needsVision && !m.capabilities.vision) return "no_vision";
    const cap = capabilitySkip(m);
    if (cap) return cap;
    if (rank(m.tier) < rank(floor)) return "below_floor";
    if (!tiers.includes(m.tier)) return "above_tier";
    if (m.context_window < needTokens) return "context_window";
    return null;
  };
  const breaker = (m: ModelEntry): BreakerState => input.breakerStates[m.id] ?? "closed";
  let tiers = tierOrder(target, floor, ceiling);
  const intended = ordered(catalog.models, tiers, lead, favourite).find((m) => staticSkip(m, tiers) === null);
  const outage = new Set<string>();
  if (intended && catalog.models.filter((m) => m.provider === intended.provider).every((m) => breaker(m) === "open")) {
    outage.add(intended.provider);
    reasons.push(`provider_outage:${intended.provider}`);
    target = floor;
    tiers = tierOrder(target, floor, ceiling);
    label = "provider_outage";
  }

  const skipOf = (m: ModelEntry): SkipReason | null =>
    staticSkip(m, tiers) ?? (outage.has(m.provider) ? "provider_outage" : breaker(m) === "open" ? "breaker_open" : null);
  const chain = ordered(catalog.models, tiers, lead, favourite).filter((m) => skipOf(m) === null);
  const skipped = catalog.models.flatMap((m) => {
    const why = skipOf(m);
    return why === null ? [] : [{ id: m.id, why }];
  });
  for (const s of skipped)
    if (s.why === "breaker_open" || s.why === "context_window" || s.why === "unsupported_fields" || s.why === "no_tools" || s.why === "no_json_schema")
      reasons.push(`skipped:${s.id}:${s.why}`);

  const chosen = chain[0];
  if (!chosen) {
    const anyVision = catalog.models.some((m) => allowed(m) && m.capabilities.vision);
    if (classification.needsVision && !anyVision) throw new RoutingError("no_vision_model", "no model this deployment may use can read images", skipped);
    if (!catalog.models.some((m) => allowed(m) && capabilitySkip(m) === null)) {
      const wanted = [...new Set(catalog.models.filter(allowed).flatMap(capabilityGaps))];
      throw new RoutingError("no_capable_model", `no model this deployment may use can honour ${wanted.join(", ")}`, skipped);
    }
    throw new RoutingError("no_model_available", `no model can serve this request now (${skipped.map((s) => `${s.id}: ${s.why}`).join(", ")})`, skipped);
  }
  if (breaker(chosen) === "half_open") reasons.push(`half_open:${chosen.id}`);
  if (chosen.tier !== target) reasons.push(`tier_unavailable:${target}->${chosen.tier}`);

  if (!explicit && label !== "provider_outage" && label !== "budget_downgrade" && (lead !== baselineLead || favourite !== baselineFavourite)) {
    const baseline = ordered(catalog.models, tiers, baselineLead, baselineFavourite).find((m) => skipOf(m) === null);
    if (baseline && baseline.id !== chosen.id) {
      label = "preference";
      reasons.push(`preference:${deployment.modelPreference ?? ""}`);
    }
  }
  reasons.push(`chosen:${chosen.id}`);
  return {
    chosen,
    chain,
    fallbacks: chain.slice(1).map((model, i) => ({ model, kind: fallbackKind(chain[i] ?? chosen, model) })),
    tier: target,
    reasons,
    reason: label,
    classification,
    skipped,
  };
}
