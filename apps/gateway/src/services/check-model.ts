import { ApiError, hasImages, type CreateJobRequest, type ModelEntry, type RoutingContext } from "@switchyard/contracts";
import { unsupportedJobFields, unsupportedJobFieldsFor } from "@switchyard/providers";
import type { GatewayResources } from "../resources";

/**
 * Validates what the catalog and the deployment allow: the model exists and is allowed,
 * `max_tokens` fits, images only where vision is on, and the agent fields (tools,
 * response_format, stop, seed, logprobs …) only where the model can honour them: its catalog
 * capabilities and its adapter's unsupported fields (judged as the registry resolves the entry,
 * real or simulated). For `auto`, at least one allowed model must honour them all. `field` is
 * what the errors about the model name (`compare.1` for a comparison's second model).
 */
export function checkModel(r: GatewayResources, req: CreateJobRequest, ctx: RoutingContext, features: Record<string, boolean>, field = "model"): void {
  if (hasImages(req.messages) && !ctx.vision_enabled)
    throw new ApiError("feature_disabled", "messages: images need the visionEnabled feature on this deployment", "messages");
  if (req.rag && !features.ragEnabled) throw new ApiError("feature_disabled", "rag: retrieval needs the ragEnabled feature on this deployment", "rag");
  const unsupported = (m: ModelEntry) => unsupportedJobFields(req, m, r.providers.forModel(m).simulated);
  if (req.model === "auto") {
    const allowed = r.catalog.models.filter((m) => !ctx.allowed_models || ctx.allowed_models.includes(m.id));
    const gaps = unsupportedJobFieldsFor(
      req,
      allowed.map((m) => ({ entry: m, simulated: r.providers.forModel(m).simulated })),
    );
    if (gaps.length > 0 && gaps.every((g) => g.length > 0)) {
      // Name the field most models lack: the one the caller most likely has to drop.
      const counts = new Map<string, number>();
      for (const f of gaps.flat()) counts.set(f, (counts.get(f) ?? 0) + 1);
      const lacking = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
      throw new ApiError(
        "unsupported_parameter",
        `${lacking}: no model this deployment may use can honour it (${allowed.map((m, i) => `${m.id}: ${gaps[i]!.join(", ")}`).join("; ")})`,
        lacking,
      );
    }
    return;
  }
  const entry = r.catalog.models.find((m) => m.id === req.model);
  if (!entry)
    throw new ApiError("model_not_found", `${field === "model" ? "model" : `${field}:`} ${req.model} is not in the catalog (GET /v1/models lists them)`, field);
  if (ctx.allowed_models && !ctx.allowed_models.includes(entry.id))
    throw new ApiError("model_not_allowed", `${field}: ${req.model} is not allowed on this deployment`, field);
  if (hasImages(req.messages) && !entry.capabilities.vision) throw new ApiError("invalid_request", `${field}: ${req.model} cannot read images`, field);
  if (req.max_tokens !== undefined && req.max_tokens > entry.max_output_tokens) {
    throw new ApiError("invalid_request", `max_tokens: ${req.model} allows at most ${entry.max_output_tokens} output tokens`, "max_tokens");
  }
  const fields = unsupported(entry);
  if (fields.length > 0) {
    const why = fields[0] === "tools" || fields[0] === "response_format" ? "the model lacks the capability" : `${entry.provider} cannot honour it`;
    throw new ApiError("unsupported_parameter", `${fields[0]}: ${req.model} cannot honour ${fields.join(", ")} (${why})`, fields[0]);
  }
}
