import { contentText, type AgentChatMessage, type ModelEntry, type ToolCall } from "@switchyard/contracts";
import { capabilityGaps } from "../capabilities";
import { ProviderError, type ChatRequest } from "../types";

/** A `functionCall` part (an earlier call of the model) or a `functionResponse` part (our answer to one). */
export type GeminiToolPart =
  { functionCall: { name: string; args: Record<string, unknown> } } | { functionResponse: { name: string; response: Record<string, unknown> } };

/** A function call read from a response part: `id` only when Gemini sent one. */
export interface GeminiFunctionCall {
  id?: string;
  name: string;
  args: Record<string, unknown>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The `functionCall` parts of an assistant turn; `args` must be a JSON object (Gemini takes a Struct). */
export function functionCallParts(calls: ToolCall[], messageIndex: number): GeminiToolPart[] {
  return calls.map((c, j) => {
    let args: unknown;
    try {
      args = c.function.arguments.trim() === "" ? {} : JSON.parse(c.function.arguments);
    } catch {
      args = undefined;
    }
    if (!isRecord(args))
      throw new ProviderError("bad_request", `messages.${messageIndex}.tool_calls.${j}.function.arguments must be a JSON object to be sent to Gemini`);
    return { functionCall: { name: c.function.name, args } };
  });
}

/**
 * A `tool` message as a `functionResponse` part. Gemini matches results to calls by function
 * name, so the name comes from the earlier assistant turn that made call `tool_call_id`. The
 * response must be an object: a result that is a JSON object is sent as it is, anything else as
 * `{"result": <the JSON value, or the text>}`.
 */
export function functionResponsePart(
  m: Extract<AgentChatMessage, { role: "tool" }>,
  messageIndex: number,
  namesById: ReadonlyMap<string, string>,
): GeminiToolPart {
  const name = namesById.get(m.tool_call_id);
  if (name === undefined) throw new ProviderError("bad_request", `messages.${messageIndex}.tool_call_id ${m.tool_call_id} answers no earlier tool call`);
  const text = contentText(m.content);
  let value: unknown = text;
  try {
    value = JSON.parse(text);
  } catch {
    // plain text result
  }
  return { functionResponse: { name, response: isRecord(value) ? value : { result: value } } };
}

/**
 * Adds `tools` (one `functionDeclarations` list; parameters as `parametersJsonSchema`, which
 * takes JSON Schema as it is, where `parameters` takes only an OpenAPI subset), `toolConfig`
 * (auto → AUTO, required → ANY, a named function → ANY with `allowedFunctionNames`, none →
 * NONE) and the generation options: `stopSequences`, `seed`, `presencePenalty`,
 * `frequencyPenalty`, and for JSON output `responseMimeType: "application/json"` with the
 * schema as `responseJsonSchema`.
 */
export function addGeminiAgentFields(body: Record<string, unknown>, generationConfig: Record<string, unknown>, req: ChatRequest): void {
  if (req.tools !== undefined && req.tools.length > 0) {
    const functionDeclarations = req.tools.map((t) => ({
      name: t.function.name,
      ...(t.function.description !== undefined ? { description: t.function.description } : {}),
      ...(t.function.parameters !== undefined ? { parametersJsonSchema: t.function.parameters } : {}),
    }));
    body.tools = [{ functionDeclarations }];
    const choice = req.toolChoice;
    if (choice !== undefined) {
      body.toolConfig = {
        functionCallingConfig:
          typeof choice === "object"
            ? { mode: "ANY", allowedFunctionNames: [choice.function.name] }
            : { mode: choice === "required" ? "ANY" : choice === "none" ? "NONE" : "AUTO" },
      };
    }
  }
  if (req.stop !== undefined && req.stop.length > 0) generationConfig.stopSequences = req.stop;
  if (req.seed !== undefined) generationConfig.seed = req.seed;
  if (req.presencePenalty !== undefined) generationConfig.presencePenalty = req.presencePenalty;
  if (req.frequencyPenalty !== undefined) generationConfig.frequencyPenalty = req.frequencyPenalty;
  const format = req.responseFormat;
  if (format !== undefined && format.type !== "text") {
    generationConfig.responseMimeType = "application/json";
    if (format.type === "json_schema" && format.json_schema.schema !== undefined) generationConfig.responseJsonSchema = format.json_schema.schema;
  }
}

/** The `functionCall` parts of a candidate's content, in order. */
export function readFunctionCalls(provider: string, parts: unknown[]): GeminiFunctionCall[] {
  const out: GeminiFunctionCall[] = [];
  for (const p of parts) {
    if (!isRecord(p) || !isRecord(p.functionCall)) continue;
    const fc = p.functionCall;
    if (typeof fc.name !== "string") throw new ProviderError("malformed", `${provider}: a functionCall part has no name`, { provider });
    out.push({ ...(typeof fc.id === "string" && fc.id !== "" ? { id: fc.id } : {}), name: fc.name, args: isRecord(fc.args) ? fc.args : {} });
  }
  return out;
}

/**
 * The id of a function call: Gemini's own when it sent one, else one made from the response id
 * and the call's position in the answer, so a streamed and a whole reading of one answer agree.
 */
export function toolCallId(call: GeminiFunctionCall, responseId: string | undefined, index: number): string {
  if (call.id !== undefined) return call.id;
  const safe = (responseId ?? "").replace(/[^A-Za-z0-9_-]/g, "");
  return `call_${safe === "" ? "gemini" : safe}_${index}`;
}

/**
 * The fields the Gemini API cannot honour here, whatever the model: `logprobs`/`top_logprobs`
 * (not read back), `parallel_tool_calls: false` (no such switch), `strict` function schemas (not
 * promised).
 */
export function geminiRefusals(req: ChatRequest): string[] {
  const out: string[] = [];
  if (req.logprobs === true) out.push("logprobs");
  if (req.topLogprobs !== undefined) out.push("top_logprobs");
  if (req.parallelToolCalls === false) out.push("parallel_tool_calls");
  req.tools?.forEach((t, i) => void (t.function.strict === true && out.push(`tools.${i}.function.strict`)));
  return out;
}

/** What a catalog model served by the Gemini API cannot honour: its capability gaps, then `geminiRefusals`. */
export function geminiUnsupportedFields(req: ChatRequest, entry: ModelEntry): string[] {
  return [...new Set([...capabilityGaps(req, entry), ...geminiRefusals(req)])];
}
