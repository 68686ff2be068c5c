import { readFileSync } from "node:fs";
import path from "node:path";
import { ModelCatalog, type ChatMessage, type ModelEntry, type ModelTier, type ProviderName } from "@switchyard/contracts";
import type { BreakerState } from "./circuit-breaker";
import { RoutingError, isRoutingError, type RoutingErrorCode } from "./routing-error";
import { decideRoute, fallbackKind, type RouteDeployment, type RouteInput, type RouteReason } from "./routing-policy";

function model(id: string, provider: ProviderName, tier: ModelTier, vision: boolean, contextWindow: number): ModelEntry {
  return {
    id,
    provider,
    upstream_model: id,
    tier,
    capabilities: { vision, long_context: contextWindow > 200_000 },
    context_window: contextWindow,
    max_output_tokens: 8192,
    pricing: { input: 1, output: 2, cached_input: 0 },
  };
}

/** Two full providers and a third with one small vision-capable lite model; openai's flash is the default. */
const CATALOG: ModelCatalog = {
  default_model: "oa-flash",
  models: [
    model("oa-lite", "openai", "lite", false, 128_000),
    model("oa-flash", "openai", "flash", true, 128_000),
    model("oa-pro", "openai", "pro", true, 1_000_000),
    model("an-lite", "anthropic", "lite", false, 200_000),
    model("an-flash", "anthropic", "flash", true, 200_000),
    model("an-pro", "anthropic", "pro", true, 200_000),
    model("gm-lite", "gemini", "lite", true, 32_000),
  ],
};
const OPENAI_ALL_OPEN: Record<string, BreakerState> = { "oa-lite": "open", "oa-flash": "open", "oa-pro": "open" };

const user = (content: string): ChatMessage => ({ role: "user", content });
const SIMPLE = [user("What is the capital of France?")];
const MODERATE = [user("Can you review this TypeScript function?\n```ts\nexport const add = (a: number, b: number) => a + b;\n```")];
const COMPLEX = [
  user(
    "My Node service crashes. Debug it step by step and explain why:\nTypeError: Cannot read properties of undefined (reading 'id')\n    at handler (/srv/app.js:10:5)",
  ),
];
const HEALTH = [user("What is the usual adult dosage of ibuprofen, and does it interact with my blood pressure medication?")];
const IMAGE: ChatMessage[] = [
  {
    role: "user",
    content: [
      { type: "text", text: "What is in this picture?" },
      { type: "image_url", image_url: { url: "https://example.com/cat.png" } },
    ],
  },
];

const SMART: RouteDeployment = { smartRouting: true, visionEnabled: true };
const PLAIN: RouteDeployment = { smartRouting: false, visionEnabled: true };

function input(over: Partial<RouteInput> = {}): RouteInput {
  return { requestedModel: "auto", messages: SIMPLE, catalog: CATALOG, deployment: SMART, budgetUsedRatio: 0, breakerStates: {}, ...over };
}

interface Case {
  name: string;
  in: Partial<RouteInput>;
  chosen?: string;
  reason?: RouteReason;
  tier?: ModelTier;
  chain?: string[];
  reasons?: string[];
  skipped?: Array<{ id: string; why: string }>;
  error?: RoutingErrorCode;
}

const cases: Case[] = [
  // Explicit models.
  {
    name: "explicit model allowed: its tier first (its provider leading), then lower tiers",
    in: { requestedModel: "an-pro" },
    chosen: "an-pro",
    reason: "explicit",
    tier: "pro",
    chain: ["an-pro", "oa-pro", "an-flash", "oa-flash", "an-lite", "oa-lite", "gm-lite"],
  },
  {
    name: "explicit model not allowed by the deployment",
    in: { requestedModel: "an-pro", deployment: { ...SMART, allowedModels: ["oa-flash"] } },
    error: "model_not_allowed",
  },
  { name: "explicit model not in the catalog", in: { requestedModel: "gpt-9" }, error: "model_not_found" },
  {
    name: "explicit lite model never upshifts",
    in: { requestedModel: "oa-lite", messages: COMPLEX },
    chosen: "oa-lite",
    chain: ["oa-lite", "an-lite", "gm-lite"],
    skipped: [{ id: "oa-pro", why: "above_tier" }],
  },
  {
    name: "explicit model with an open breaker falls back within its tier",
    in: { requestedModel: "an-pro", breakerStates: { "an-pro": "open" } },
    chosen: "oa-pro",
    reason: "explicit",
    reasons: ["skipped:an-pro:breaker_open"],
  },
  { name: "explicit non-vision model with images", in: { requestedModel: "oa-lite", messages: IMAGE }, error: "no_vision_model" },
  {
    name: "explicit model ignores budget pressure",
    in: { requestedModel: "an-pro", budgetUsedRatio: 0.99 },
    chosen: "an-pro",
    reason: "explicit",
    tier: "pro",
  },
  {
    name: "explicit model ignores the deployment preference",
    in: { requestedModel: "oa-flash", deployment: { ...SMART, modelPreference: "anthropic" } },
    chosen: "oa-flash",
    reason: "explicit",
    chain: ["oa-flash", "an-flash", "oa-lite", "an-lite", "gm-lite"],
  },
  // Smart routing.
  {
    name: "smart: simple → lite",
    in: { messages: SIMPLE },
    chosen: "oa-lite",
    reason: "smart_routing",
    tier: "lite",
    chain: ["oa-lite", "an-lite", "gm-lite", "oa-flash", "an-flash", "oa-pro", "an-pro"],
  },
  { name: "smart: moderate → flash (catalog default first)", in: { messages: MODERATE }, chosen: "oa-flash", reason: "smart_routing", tier: "flash" },
  {
    name: "smart: complex → pro, chain pro → flash → lite",
    in: { messages: COMPLEX },
    chosen: "oa-pro",
    reason: "smart_routing",
    tier: "pro",
    chain: ["oa-pro", "an-pro", "oa-flash", "an-flash", "oa-lite", "an-lite", "gm-lite"],
  },
  {
    name: "smart: healthcare never below flash, fallbacks included",
    in: { messages: HEALTH },
    chosen: "oa-flash",
    tier: "flash",
    chain: ["oa-flash", "an-flash", "oa-pro", "an-pro"],
    reasons: ["healthcare_floor:flash"],
    skipped: [{ id: "oa-lite", why: "below_floor" }],
  },
  {
    name: "smart: images → vision models only",
    in: { messages: IMAGE },
    chosen: "gm-lite",
    reason: "smart_routing",
    tier: "lite",
    chain: ["gm-lite", "oa-flash", "an-flash", "oa-pro", "an-pro"],
    skipped: [{ id: "oa-lite", why: "no_vision" }],
  },
  // Smart routing off: the runbooks' behaviour.
  { name: "plain: flash by default", in: { deployment: PLAIN, messages: SIMPLE }, chosen: "oa-flash", reason: "default", tier: "flash" },
  { name: "plain: pro for complex requests", in: { deployment: PLAIN, messages: COMPLEX }, chosen: "oa-pro", reason: "complex", tier: "pro" },
  {
    name: "plain: pro for images, vision chain",
    in: { deployment: PLAIN, messages: IMAGE },
    chosen: "oa-pro",
    reason: "vision",
    tier: "pro",
    chain: ["oa-pro", "an-pro", "oa-flash", "an-flash", "gm-lite"],
  },
  // Vision gates.
  { name: "images with vision disabled", in: { messages: IMAGE, deployment: { ...SMART, visionEnabled: false } }, error: "vision_disabled" },
  {
    name: "images and no allowed vision model",
    in: { messages: IMAGE, deployment: { ...SMART, allowedModels: ["oa-lite", "an-lite"] } },
    error: "no_vision_model",
  },
  // Preference.
  {
    name: "provider preference leads every tier",
    in: { messages: MODERATE, deployment: { ...SMART, modelPreference: "anthropic" } },
    chosen: "an-flash",
    reason: "preference",
    chain: ["an-flash", "oa-flash", "an-lite", "oa-lite", "gm-lite", "an-pro", "oa-pro"],
  },
  {
    name: "model preference in the chosen tier",
    in: { messages: COMPLEX, deployment: { ...SMART, modelPreference: "an-pro" } },
    chosen: "an-pro",
    reason: "preference",
  },
  {
    name: "model preference in another tier prefers its provider",
    in: { messages: MODERATE, deployment: { ...SMART, modelPreference: "an-pro" } },
    chosen: "an-flash",
    reason: "preference",
    tier: "flash",
  },
  {
    name: "preference that changes nothing is not the reason",
    in: { messages: MODERATE, deployment: { ...SMART, modelPreference: "openai" } },
    chosen: "oa-flash",
    reason: "smart_routing",
  },
  {
    name: "unknown preference is ignored",
    in: { messages: MODERATE, deployment: { ...SMART, modelPreference: "mistral" } },
    chosen: "oa-flash",
    reason: "smart_routing",
    reasons: ["preference_unknown:mistral"],
  },
  {
    name: "preference applies with smart routing off",
    in: { deployment: { ...PLAIN, modelPreference: "anthropic" } },
    chosen: "an-flash",
    reason: "preference",
    tier: "flash",
  },
  // Budget.
  {
    name: "budget ≥ 0.9: pro → flash",
    in: { messages: COMPLEX, budgetUsedRatio: 0.95 },
    chosen: "oa-flash",
    reason: "budget_downgrade",
    tier: "flash",
    chain: ["oa-flash", "an-flash", "oa-lite", "an-lite", "gm-lite", "oa-pro", "an-pro"],
  },
  {
    name: "budget exactly 0.9 downgrades: flash → lite",
    in: { messages: MODERATE, budgetUsedRatio: 0.9 },
    chosen: "oa-lite",
    reason: "budget_downgrade",
    tier: "lite",
  },
  { name: "budget 0.89 does not downgrade", in: { messages: COMPLEX, budgetUsedRatio: 0.89 }, chosen: "oa-pro", reason: "smart_routing", tier: "pro" },
  {
    name: "budget cannot go below lite",
    in: { messages: SIMPLE, budgetUsedRatio: 1.2 },
    chosen: "oa-lite",
    reason: "smart_routing",
    reasons: ["budget_high:already_lite"],
  },
  {
    name: "budget cannot push healthcare below flash",
    in: { messages: HEALTH, budgetUsedRatio: 0.95 },
    chosen: "oa-flash",
    tier: "flash",
    reasons: ["budget_downgrade_blocked:healthcare_floor"],
  },
  {
    name: "budget downgrade wins over preference as the reason",
    in: { messages: COMPLEX, budgetUsedRatio: 0.95, deployment: { ...SMART, modelPreference: "anthropic" } },
    chosen: "an-flash",
    reason: "budget_downgrade",
  },
  // Breakers and outages.
  {
    name: "open breakers are skipped, half-open stays eligible",
    in: { messages: COMPLEX, breakerStates: { "oa-pro": "open", "oa-flash": "open", "oa-lite": "half_open" } },
    chosen: "an-pro",
    reason: "smart_routing",
    chain: ["an-pro", "an-flash", "oa-lite", "an-lite", "gm-lite"],
  },
  {
    name: "half-open chosen model is kept (it may get the probe)",
    in: { messages: MODERATE, breakerStates: { "oa-flash": "half_open" } },
    chosen: "oa-flash",
    reasons: ["half_open:oa-flash"],
  },
  {
    name: "provider outage → lite tier of other providers",
    in: { messages: COMPLEX, breakerStates: OPENAI_ALL_OPEN },
    chosen: "an-lite",
    reason: "provider_outage",
    tier: "lite",
    chain: ["an-lite", "gm-lite", "an-flash", "an-pro"],
    skipped: [{ id: "oa-pro", why: "provider_outage" }],
    reasons: ["provider_outage:openai"],
  },
  {
    name: "provider outage for healthcare stops at flash",
    in: { messages: HEALTH, breakerStates: OPENAI_ALL_OPEN },
    chosen: "an-flash",
    reason: "provider_outage",
    tier: "flash",
    chain: ["an-flash", "an-pro"],
  },
  {
    name: "provider outage applies to an explicit model too",
    in: { requestedModel: "oa-pro", breakerStates: OPENAI_ALL_OPEN },
    chosen: "an-lite",
    reason: "provider_outage",
    chain: ["an-lite", "gm-lite", "an-flash", "an-pro"],
  },
  {
    name: "outage of a provider not intended changes nothing",
    in: { messages: COMPLEX, breakerStates: { "an-lite": "open", "an-flash": "open", "an-pro": "open" } },
    chosen: "oa-pro",
    reason: "smart_routing",
    chain: ["oa-pro", "oa-flash", "oa-lite", "gm-lite"],
  },
  {
    name: "cheap tiers all open → upshift to pro",
    in: { messages: MODERATE, breakerStates: { "oa-lite": "open", "oa-flash": "open", "an-lite": "open", "an-flash": "open", "gm-lite": "open" } },
    chosen: "oa-pro",
    tier: "flash",
    chain: ["oa-pro", "an-pro"],
    reasons: ["tier_unavailable:flash->pro"],
  },
  { name: "every model open", in: { breakerStates: Object.fromEntries(CATALOG.models.map((m) => [m.id, "open" as const])) }, error: "no_model_available" },
  // Context windows and allowed models.
  {
    name: "context window must hold input + max_tokens",
    in: { messages: SIMPLE, maxTokens: 150_000 },
    chosen: "an-lite",
    chain: ["an-lite", "an-flash", "oa-pro", "an-pro"],
    skipped: [
      { id: "oa-lite", why: "context_window" },
      { id: "gm-lite", why: "context_window" },
    ],
  },
  { name: "nothing large enough", in: { maxTokens: 2_000_000 }, error: "no_model_available" },
  {
    name: "allowed models restrict the chain",
    in: { messages: COMPLEX, deployment: { ...SMART, allowedModels: ["oa-flash", "an-lite"] } },
    chosen: "oa-flash",
    tier: "pro",
    chain: ["oa-flash", "an-lite"],
    skipped: [{ id: "oa-pro", why: "not_allowed" }],
  },
];

describe("decideRoute", () => {
  it.each(cases)("$name", (c) => {
    let decision: ReturnType<typeof decideRoute> | undefined;
    let error: unknown;
    try {
      decision = decideRoute(input(c.in));
    } catch (err) {
      error = err;
    }
    if (c.error) {
      expect(error).toBeInstanceOf(RoutingError);
      expect(isRoutingError(error) && error.code).toBe(c.error);
      return;
    }
    expect(error).toBeUndefined();
    if (!decision) throw new Error("no decision");
    expect(decision.chain[0]).toBe(decision.chosen);
    expect(decision.fallbacks.map((f) => f.model)).toEqual(decision.chain.slice(1));
    if (c.chosen) expect(decision.chosen.id).toBe(c.chosen);
    if (c.reason) expect(decision.reason).toBe(c.reason);
    if (c.tier) expect(decision.tier).toBe(c.tier);
    if (c.chain) expect(decision.chain.map((m) => m.id)).toEqual(c.chain);
    for (const r of c.reasons ?? []) expect(decision.reasons).toContain(r);
    for (const s of c.skipped ?? []) expect(decision.skipped).toContainEqual(s);
  });

  it("labels each fallback step by tier movement", () => {
    const d = decideRoute(input({ messages: COMPLEX }));
    expect(d.fallbacks.map((f) => `${f.model.id}:${f.kind}`)).toEqual([
      "an-pro:error",
      "oa-flash:downgrade",
      "an-flash:error",
      "oa-lite:downgrade",
      "an-lite:error",
      "gm-lite:error",
    ]);
    const up = decideRoute(input({ messages: SIMPLE }));
    expect(up.fallbacks.map((f) => f.kind)).toEqual(["error", "error", "upshift", "error", "upshift", "error"]);
  });

  it("reports why nothing was available", () => {
    try {
      decideRoute(input({ breakerStates: Object.fromEntries(CATALOG.models.map((m) => [m.id, "open" as const])) }));
      throw new Error("expected a RoutingError");
    } catch (err) {
      if (!isRoutingError(err)) throw err;
      expect(err.retryable).toBe(true);
      expect(err.skipped).toContainEqual({ id: "oa-flash", why: "provider_outage" });
      expect(err.skipped).toContainEqual({ id: "gm-lite", why: "breaker_open" });
    }
  });

  it("is deterministic", () => {
    const i = input({ messages: HEALTH, budgetUsedRatio: 0.95, breakerStates: { "oa-flash": "open" } });
    expect(decideRoute(i)).toEqual(decideRoute(i));
  });

  it("routes over the shipped catalog (config/models.json)", () => {
    const catalog = ModelCatalog.parse(JSON.parse(readFileSync(path.join(__dirname, "../../../config/models.json"), "utf8")));
    const route = (over: Partial<RouteInput>) => decideRoute(input({ catalog, ...over })).chosen.id;
    expect(route({ messages: SIMPLE })).toBe("sim-lite");
    expect(route({ messages: MODERATE })).toBe("sim-flash");
    expect(route({ messages: COMPLEX })).toBe("sim-pro");
    expect(route({ messages: IMAGE })).toBe("gpt-4.1-nano");
    expect(route({ deployment: PLAIN })).toBe("sim-flash");
    expect(route({ messages: COMPLEX, breakerStates: { "sim-lite": "open", "sim-flash": "open", "sim-pro": "open" } })).toBe("gpt-4.1-nano");
  });
});

describe("fallbackKind", () => {
  const m = (tier: ModelTier) => model(`x-${tier}`, "openai", tier, false, 1000);
  it.each([
    ["pro", "flash", "downgrade"],
    ["flash", "lite", "downgrade"],
    ["pro", "lite", "downgrade"],
    ["lite", "flash", "upshift"],
    ["flash", "pro", "upshift"],
    ["flash", "flash", "error"],
  ] as const)("%s → %s is %s", (from, to, kind) => {
    expect(fallbackKind(m(from), m(to))).toBe(kind);
  });
});

describe("requests that need tools or structured output", () => {
  const withCaps = (m: ModelEntry, tools: boolean, json: boolean): ModelEntry => ({ ...m, capabilities: { ...m.capabilities, tools, json_schema: json } });
  // oa-* can do both, an-* tools only, gm-lite neither.
  const CAPS: ModelCatalog = { ...CATALOG, models: CATALOG.models.map((m) => withCaps(m, m.provider !== "gemini", m.provider === "openai")) };
  const tools = { tools: true };

  it("leaves models without capabilities.tools out of the chain, fallbacks included", () => {
    const d = decideRoute(input({ catalog: CAPS, needs: tools, requestedModel: "oa-flash" }));
    expect(d.chain.map((m) => m.id)).toEqual(["oa-flash", "an-flash", "oa-lite", "an-lite"]);
    expect(d.skipped).toContainEqual({ id: "gm-lite", why: "no_tools" });
    const auto = decideRoute(input({ catalog: CAPS, needs: tools, breakerStates: OPENAI_ALL_OPEN }));
    expect(auto.chain.every((m) => m.capabilities.tools === true)).toBe(true);
    expect(auto.chain.map((m) => m.id)).not.toContain("gm-lite");
  });

  it("json_schema only goes to capabilities.json_schema", () => {
    const d = decideRoute(input({ catalog: CAPS, needs: { json_schema: true }, requestedModel: "oa-pro" }));
    expect(d.chain.map((m) => m.provider)).toEqual(["openai", "openai", "openai"]);
  });

  it("leaves out models whose provider cannot honour a field (the adapter's unsupportedFields)", () => {
    const unsupportedFields = (m: ModelEntry) => (m.provider === "anthropic" ? ["seed"] : []);
    const d = decideRoute(input({ catalog: CAPS, needs: tools, unsupportedFields, requestedModel: "oa-pro" }));
    expect(d.chain.map((m) => m.id)).toEqual(["oa-pro", "oa-flash", "oa-lite"]);
    expect(d.reasons).toContain("skipped:an-pro:unsupported_fields");
  });

  it("an explicit model that cannot honour the request, or no capable model at all, is a non-retryable error", () => {
    const explicit = (() => {
      try {
        decideRoute(input({ catalog: CAPS, needs: tools, requestedModel: "gm-lite" }));
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(isRoutingError(explicit) && explicit.code).toBe("unsupported_request");
    expect(isRoutingError(explicit) && explicit.retryable).toBe(false);
    const none = (() => {
      try {
        decideRoute(input({ catalog: CAPS, needs: tools, deployment: { ...SMART, allowedModels: ["gm-lite"] } }));
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(isRoutingError(none) && none.code).toBe("no_capable_model");
    // Capable models whose breakers are open: a wait, not a refusal.
    const open = Object.fromEntries(CAPS.models.map((m) => [m.id, "open" as const]));
    const wait = (() => {
      try {
        decideRoute(input({ catalog: CAPS, needs: tools, breakerStates: open }));
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(isRoutingError(wait) && wait.code).toBe("no_model_available");
  });

  it("classifies agent turns: tool calls count as assistant text, tool results as input", () => {
    const messages = [
      user("What's the weather in Paris?"),
      {
        role: "assistant" as const,
        content: null,
        tool_calls: [{ id: "c1", type: "function" as const, function: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
      },
      { role: "tool" as const, tool_call_id: "c1", content: "x".repeat(4000) },
    ];
    const d = decideRoute(input({ catalog: CAPS, needs: tools, messages }));
    expect(d.classification.estimatedInputTokens).toBeGreaterThan(1000);
  });
});
