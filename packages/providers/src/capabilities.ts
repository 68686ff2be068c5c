import type { ModelEntry } from "@switchyard/contracts";
import { ProviderError, type ChatRequest } from "./types";

/**
 * The fields the catalog says a model cannot serve: `tools` (a tool list or `tool_choice`)
 * without `capabilities.tools`, a json_schema `response_format` without `capabilities.json_schema`.
 * Every adapter's unsupported-fields function starts from this.
 */
export function capabilityGaps(req: ChatRequest, entry: ModelEntry): string[] {
  const out: string[] = [];
  const caps = entry.capabilities;
  if ((req.tools !== undefined && req.tools.length > 0) || req.toolChoice !== undefined || req.parallelToolCalls !== undefined) {
    if (caps.tools !== true) out.push("tools");
  }
  if (req.responseFormat?.type === "json_schema" && caps.json_schema !== true) out.push("response_format");
  return out;
}

/** True when the conversation already holds tool calls or tool results. */
export function hasToolHistory(req: ChatRequest): boolean {
  return req.messages.some((m) => m.role === "tool" || (m.role === "assistant" && "tool_calls" in m && m.tool_calls !== undefined));
}

/**
 * Fails a call that asks for fields its provider cannot honour, with a `bad_request` naming
 * them: the gateway should have answered 400 already, and an adapter never drops a field.
 */
export function refuseFields(req: ChatRequest, fields: string[]): void {
  if (fields.length === 0) return;
  throw new ProviderError("bad_request", `${req.model} cannot honour ${fields.join(", ")}`);
}
