import { contentText, type AgentChatMessage, type ModelEntry, type ToolCall } from "@switchyard/contracts";
import { capabilityGaps, hasToolHistory } from "../capabilities";
import { ProviderError, type ChatRequest } from "../types";

/** A `tool_use` block (an earlier call of the model) or a `tool_result` block (our answer to one). */
export type AnthropicToolBlock =
  { type: "tool_use"; id: string; name: string; input: Record<string, unknown> } | { type: "tool_result"; tool_use_id: string; content: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The `tool_use` blocks of an assistant turn. Anthropic takes `input` as an object, so each
 * call's JSON `arguments` must parse to one; anything else is refused (bad_request) rather than
 * sent as something the model did not write.
 */
export function toolUseBlocks(calls: ToolCall[], messageIndex: number): AnthropicToolBlock[] {
  return calls.map((c, j) => {
    let input: unknown;
    try {
      input = c.function.arguments.trim() === "" ? {} : JSON.parse(c.function.arguments);
    } catch {
      input = undefined;
    }
    if (!isRecord(input)) {
      throw new ProviderError("bad_request", `messages.${messageIndex}.tool_calls.${j}.function.arguments must be a JSON object to be sent to Anthropic`);
    }
    return { type: "tool_use", id: c.id, name: c.function.name, input };
  });
}

/** A `tool` message as a `tool_result` block (the text of its content). */
export function toolResultBlock(m: Extract<AgentChatMessage, { role: "tool" }>): AnthropicToolBlock {
  return { type: "tool_result", tool_use_id: m.tool_call_id, content: contentText(m.content) };
}

/**
 * Adds `tools` (`input_schema` = the function's parameters; a function without parameters takes
 * an empty object), `tool_choice` (auto → auto, required → any, a named function → tool, none →
 * none; `parallelToolCalls: false` → `disable_parallel_tool_use: true`) and `stop_sequences`.
 */
export function addAnthropicAgentFields(body: Record<string, unknown>, req: ChatRequest): void {
  if (req.tools !== undefined && req.tools.length > 0) {
    body.tools = req.tools.map((t) => ({
      name: t.function.name,
      ...(t.function.description !== undefined ? { description: t.function.description } : {}),
      input_schema: t.function.parameters ?? { type: "object", properties: {} },
    }));
    const choice = req.toolChoice;
    const single = req.parallelToolCalls === false ? { disable_parallel_tool_use: true } : {};
    if (choice === "none") body.tool_choice = { type: "none" };
    else if (choice === "required") body.tool_choice = { type: "any", ...single };
    else if (typeof choice === "object") body.tool_choice = { type: "tool", name: choice.function.name, ...single };
    // auto is the API's default: sent only when asked for, or to carry the parallel flag.
    else if (choice === "auto" || req.parallelToolCalls === false) body.tool_choice = { type: "auto", ...single };
  }
  if (req.stop !== undefined && req.stop.length > 0) body.stop_sequences = req.stop;
}

/** The `tool_use` blocks of a Message's content as ToolCalls (arguments = the input object as JSON); undefined when none. */
export function readToolUseBlocks(provider: string, content: unknown[]): ToolCall[] | undefined {
  const calls: ToolCall[] = [];
  for (const b of content) {
    if (!isRecord(b) || b.type !== "tool_use") continue;
    if (typeof b.id !== "string" || typeof b.name !== "string")
      throw new ProviderError("malformed", `${provider}: a tool_use block has no id or name`, { provider });
    calls.push({ id: b.id, type: "function", function: { name: b.name, arguments: JSON.stringify(isRecord(b.input) ? b.input : {}) } });
  }
  return calls.length > 0 ? calls : undefined;
}

/**
 * The fields the Messages API cannot honour, whatever the model: `seed`, `presence_penalty`,
 * `frequency_penalty`, `logprobs`/`top_logprobs` and `response_format` other than text have no
 * Anthropic equivalent; `strict` function schemas are not promised; a conversation holding tool
 * calls needs its `tools` (the API refuses tool blocks without them).
 */
export function anthropicRefusals(req: ChatRequest): string[] {
  const out: string[] = [];
  if (req.seed !== undefined) out.push("seed");
  if (req.presencePenalty !== undefined && req.presencePenalty !== 0) out.push("presence_penalty");
  if (req.frequencyPenalty !== undefined && req.frequencyPenalty !== 0) out.push("frequency_penalty");
  if (req.logprobs === true) out.push("logprobs");
  if (req.topLogprobs !== undefined) out.push("top_logprobs");
  if (req.responseFormat !== undefined && req.responseFormat.type !== "text") out.push("response_format");
  req.tools?.forEach((t, i) => void (t.function.strict === true && out.push(`tools.${i}.function.strict`)));
  if (hasToolHistory(req) && (req.tools === undefined || req.tools.length === 0)) out.push("tools");
  return out;
}

/** What a catalog model served by the Messages API cannot honour: its capability gaps, then `anthropicRefusals`. */
export function anthropicUnsupportedFields(req: ChatRequest, entry: ModelEntry): string[] {
  return [...new Set([...capabilityGaps(req, entry), ...anthropicRefusals(req)])];
}
