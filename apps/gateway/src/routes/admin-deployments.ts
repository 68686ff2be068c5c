import {
  ApiError,
  ApplyPresetRequest,
  CreateDeploymentRequest,
  DEFAULT_FEATURES_BY_TYPE,
  END_USER_MONTHLY_TIERS,
  END_USER_TIERS,
  FEATURE_NAMES,
  FeatureName,
  PRESETS,
  UpdateDeploymentRequest,
  DeploymentsQuery,
  NoQuery,
  SetEndUserTierRequest,
  ToggleFeatureRequest,
  type EndUserTierView,
  type EndUserView,
  type Features,
  type ModelCatalog,
} from "@switchyard/contracts";
import {
  createDeployment,
  deploymentView,
  findDeployment,
  findEndUser,
  findTenant,
  listAllDeployments,
  listDeployments,
  setEndUserTier,
  updateDeployment,
  type DeploymentRow,
  type DeploymentSettingsInput,
} from "@switchyard/db";
import { Router, type Request } from "express";
import { normalizeOrigin } from "../middleware/cors";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { parseBody } from "../services/validation";

/** The sliding window of the end-user tier limits (the rate limiter's per-user log). */
const END_USER_WINDOW_SECONDS = 86_400;

type FeatureSet = Record<FeatureName, boolean>;

/** `base` with every flag `patch` sets. */
function mergeFeatures(base: Readonly<Record<string, boolean>>, patch: Features | undefined): FeatureSet {
  const out = Object.fromEntries(FEATURE_NAMES.map((f) => [f, base[f] ?? false])) as FeatureSet;
  for (const f of FEATURE_NAMES) {
    const v = patch?.[f];
    if (v !== undefined) out[f] = v;
  }
  return out;
}

/**
 * `allowed_models` are catalog model ids (routing matches ids only, so a provider name there
 * would silently allow nothing); `model_preference` is a model id or a provider with models in the
 * catalog, and must be usable under `allowed_models`.
 */
function checkModels(catalog: ModelCatalog, allowed: string[] | null, preference: string | null): void {
  // Embedding models too: `allowed_models` also decides which of them `/v1/embeddings` may use.
  const ids = new Set([...catalog.models, ...(catalog.embedding_models ?? [])].map((m) => m.id));
  allowed?.forEach((id, i) => {
    if (ids.has(id)) return;
    const ofProvider = catalog.models.filter((m) => m.provider === id).map((m) => m.id);
    const hint = ofProvider.length ? `; ${id} is a provider: list its model ids (${ofProvider.join(", ")})` : "";
    throw new ApiError("invalid_request", `allowed_models: ${id} is not a model in the catalog${hint}`, `allowed_models.${i}`);
  });
  if (preference === null) return;
  const model = catalog.models.find((m) => m.id === preference);
  const providerModels = catalog.models.filter((m) => m.provider === preference);
  if (!model && !providerModels.length) {
    throw new ApiError("invalid_request", `model_preference: ${preference} is neither a model id nor a provider in the catalog`, "model_preference");
  }
  if (allowed && model && !allowed.includes(model.id)) {
    throw new ApiError("invalid_request", `model_preference: ${preference} is not in allowed_models`, "model_preference");
  }
  if (allowed && !model && !providerModels.some((m) => allowed.includes(m.id))) {
    throw new ApiError("invalid_request", `model_preference: no model of provider ${preference} is in allowed_models`, "model_preference");
  }
}

/** Canonical origins (lower-case host, no default port), without repeats. */
function origins(list: string[]): string[] {
  return [
    ...new Set(
      list.map((o, i) => {
        const n = normalizeOrigin(o);
        if (n === null) throw new ApiError("invalid_request", `allowed_origins.${i}: ${o} is not an http(s) origin`, `allowed_origins.${i}`);
        return n;
      }),
    ),
  ];
}

const domains = (list: string[]) => [...new Set(list.map((d) => d.toLowerCase()))];
const dedupe = (list: string[] | null) => (list === null ? null : [...new Set(list)]);

/** `/admin/v1/…/deployments`: create, list, read, patch, presets, feature toggles, end-user tiers. Mounted after the admin scope check. */
export function adminDeploymentsRouter(r: GatewayResources): Router {
  const router = Router();
  const actor = (req: Request) => ({ keyId: principalOf(req).keyId });
  const tenantOr404 = async (raw: unknown) => {
    const id = String(raw);
    if (!(await findTenant(r.db, id))) throw new ApiError("tenant_not_found", `no tenant ${id}`, "id");
    return id;
  };
  const notFound = (id: string) => new ApiError("deployment_not_found", `no deployment ${id}`, "id");
  const change = async (req: Request, action: string, fn: (before: DeploymentRow) => Partial<DeploymentSettingsInput>) => {
    const id = String(req.params.id);
    const after = await updateDeployment(r.db, id, fn, actor(req), action);
    if (!after) throw notFound(id);
    return deploymentView(after);
  };

  router.post("/admin/v1/tenants/:id/deployments", async (req, res) => {
    const tenantId = await tenantOr404(req.params.id);
    const body = parseBody(CreateDeploymentRequest, req.body);
    const settings: DeploymentSettingsInput = {
      name: body.name,
      type: body.type,
      features: mergeFeatures(body.preset ? PRESETS[body.preset] : DEFAULT_FEATURES_BY_TYPE[body.type], body.features),
      rate_limits: body.rate_limits ?? {},
      budget: body.budget ?? null,
      model_preference: body.model_preference ?? null,
      allowed_models: dedupe(body.allowed_models ?? null),
      allowed_origins: origins(body.allowed_origins ?? []),
      allowed_source_domains: domains(body.allowed_source_domains ?? []),
      queue_weight: body.queue_weight,
      max_concurrent_jobs: body.max_concurrent_jobs ?? null,
      max_queue_ms: body.max_queue_ms ?? null,
    };
    checkModels(r.catalog, settings.allowed_models, settings.model_preference);
    const row = await createDeployment(r.db, tenantId, settings, actor(req));
    res.status(201).json(deploymentView(row));
  });

  router.get("/admin/v1/tenants/:id/deployments", async (req, res) => {
    const tenantId = await tenantOr404(req.params.id);
    res.json({ object: "list", data: (await listDeployments(r.db, tenantId)).map(deploymentView) });
  });

  // Across tenants, by id descending (generated ids begin with their creation time: newest first).
  router.get("/admin/v1/deployments", async (req, res) => {
    const q = parseBody(DeploymentsQuery, req.query);
    if (q.tenant_id !== undefined && !(await findTenant(r.db, q.tenant_id))) throw new ApiError("tenant_not_found", `no tenant ${q.tenant_id}`, "tenant_id");
    const page = await listAllDeployments(r.db, { limit: q.limit, cursor: q.cursor, tenantId: q.tenant_id, type: q.type });
    res.json({ object: "list", data: page.data.map(deploymentView), has_more: page.nextCursor !== null, next_cursor: page.nextCursor });
  });

  router.get("/admin/v1/deployments/:id", async (req, res) => {
    const id = String(req.params.id);
    const row = await findDeployment(r.db, id);
    if (!row) throw notFound(id);
    res.json(deploymentView(row));
  });

  // Any field; `features` merges into the current set (after `preset`, when both are given);
  // `rate_limits` replaces the set limits, and what it leaves unset follows the (new) type.
  router.patch("/admin/v1/deployments/:id", async (req, res) => {
    const body = parseBody(UpdateDeploymentRequest, req.body);
    res.json(
      await change(req, "deployment.update", (before) => {
        const next: Partial<DeploymentSettingsInput> = {};
        if (body.name !== undefined) next.name = body.name;
        if (body.type !== undefined) next.type = body.type;
        if (body.preset !== undefined || body.features !== undefined)
          next.features = mergeFeatures(body.preset ? PRESETS[body.preset] : before.features, body.features);
        if (body.rate_limits !== undefined) next.rate_limits = body.rate_limits;
        if (body.budget !== undefined) next.budget = body.budget;
        if (body.model_preference !== undefined) next.model_preference = body.model_preference;
        if (body.allowed_models !== undefined) next.allowed_models = dedupe(body.allowed_models);
        if (body.allowed_origins !== undefined) next.allowed_origins = origins(body.allowed_origins);
        if (body.allowed_source_domains !== undefined) next.allowed_source_domains = domains(body.allowed_source_domains);
        // Scheduling (issue 18): null clears a cap; queue_weight is never null (1 is the default share).
        if (body.queue_weight !== undefined) next.queue_weight = body.queue_weight;
        if (body.max_concurrent_jobs !== undefined) next.max_concurrent_jobs = body.max_concurrent_jobs;
        if (body.max_queue_ms !== undefined) next.max_queue_ms = body.max_queue_ms;
        if (next.model_preference !== undefined || next.allowed_models !== undefined) {
          checkModels(
            r.catalog,
            next.allowed_models !== undefined ? next.allowed_models : (before.allowed_models ?? null),
            next.model_preference !== undefined ? next.model_preference : before.model_preference,
          );
        }
        return next;
      }),
    );
  });

  router.post("/admin/v1/deployments/:id/preset", async (req, res) => {
    const body = parseBody(ApplyPresetRequest, req.body);
    res.json(await change(req, "deployment.apply_preset", () => ({ features: { ...PRESETS[body.preset] } })));
  });

  router.post("/admin/v1/deployments/:id/features/:feature", async (req, res) => {
    const feature = FeatureName.safeParse(req.params.feature);
    if (!feature.success)
      throw new ApiError("invalid_request", `feature: unknown feature ${String(req.params.feature)} (one of ${FEATURE_NAMES.join(", ")})`, "feature");
    const body = parseBody(ToggleFeatureRequest, req.body);
    res.json(await change(req, "deployment.set_feature", (before) => ({ features: mergeFeatures(before.features, { [feature.data]: body.enabled }) })));
  });

  // The tier (free when the user has no row) and the messages admitted in the last 24 h, as the
  // per-user limit counts them (the rate limiter's sliding log in Redis).
  router.get("/admin/v1/deployments/:id/end-users/:user_id", async (req, res) => {
    const id = String(req.params.id);
    const userId = String(req.params.user_id);
    if (userId.length > 256) throw new ApiError("invalid_request", "user_id: at most 256 characters", "user_id");
    parseBody(NoQuery, req.query);
    const dep = await findDeployment(r.db, id);
    if (!dep) throw notFound(id);
    const [row, used, month] = await Promise.all([
      findEndUser(r.db, id, userId),
      r.rateLimiter.endUserMessagesLastDay(id, userId),
      r.rateLimiter.endUserMessagesThisMonth(id, userId),
    ]);
    const tier = row?.tier ?? "free";
    const limit = END_USER_TIERS[tier];
    const monthly = END_USER_MONTHLY_TIERS[tier];
    const view: EndUserView = {
      object: "end_user",
      deployment_id: id,
      tenant_id: dep.tenant_id,
      user_id: userId,
      tier,
      tier_set: row !== undefined,
      messages_per_day: limit,
      window_seconds: END_USER_WINDOW_SECONDS,
      messages_used: used,
      messages_remaining: Math.max(0, limit - used),
      // The calendar month (UTC), counted as the monthly tier limit counts it.
      month: month.month,
      messages_per_month: monthly,
      messages_used_this_month: month.used,
      messages_remaining_this_month: Math.max(0, monthly - month.used),
      month_resets_at: month.resetsAt,
      updated_at: row ? row.updated_at.toISOString() : null,
    };
    res.json(view);
  });

  router.put("/admin/v1/deployments/:id/end-users/:user_id", async (req, res) => {
    const id = String(req.params.id);
    const userId = String(req.params.user_id);
    if (userId.length > 256) throw new ApiError("invalid_request", "user_id: at most 256 characters", "user_id");
    const body = parseBody(SetEndUserTierRequest, req.body);
    const dep = await findDeployment(r.db, id);
    if (!dep) throw notFound(id);
    const { row } = await setEndUserTier(r.db, { tenantId: dep.tenant_id, deploymentId: id, userId }, body.tier, actor(req));
    // 200 whether or not the user had a row: users without one are on the free tier anyway.
    const view: EndUserTierView = {
      object: "end_user",
      deployment_id: row.deployment_id,
      user_id: row.user_id,
      tier: row.tier,
      messages_per_day: END_USER_TIERS[row.tier],
      messages_per_month: END_USER_MONTHLY_TIERS[row.tier],
      updated_at: row.updated_at.toISOString(),
    };
    res.json(view);
  });

  return router;
}
