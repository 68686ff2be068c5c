import type { AgentChatMessage, ChatMessage, ContentPart, ResponseFormat, ToolDefinition } from "@switchyard/contracts";
import { countO200kTokens } from "@switchyard/tokenizer";

/**
 * Tokens OpenAI's chat format spends on each message besides its content: `<|start|>`, the role
 * separator and `<|end|>` (the role name itself is counted as text). From OpenAI's cookbook
 * "How to count tokens with tiktoken" for gpt-4o / gpt-4.1 / o-series models.
 */
export const TOKENS_PER_MESSAGE = 3;
/** Tokens that prime the reply (`<|start|>assistant<|message|>`), once per request. */
export const REPLY_PRIMING_TOKENS = 3;
/** Estimate for an image at detail "auto"/"high": a 1024×1024 image is 85 base + 4 tiles × 170. */
export const IMAGE_TOKENS = 765;
/** An image at detail "low" costs a flat 85 tokens. */
export const LOW_DETAIL_IMAGE_TOKENS = 85;
/**
 * Framing of the tool declarations, once per request that declares tools: OpenAI renders them
 * into the prompt as a `namespace functions { … }` block. A small overestimate of the cookbook's
 * figures, so budgets never reserve less than the call costs.
 */
export const TOOLS_FRAMING_TOKENS = 12;
/** Framing of one tool declaration besides its JSON text (name, description and schema). */
export const TOKENS_PER_TOOL = 8;
/** Framing of one tool call an assistant turn made, besides its name and arguments. */
export const TOKENS_PER_TOOL_CALL = 4;

/** A request's messages as admission counts them: chat or agent turns. */
export type CountedMessage = ChatMessage | AgentChatMessage;

/** What a request adds to its input besides the messages: the tools it declares and its output schema. */
export interface CountedExtras {
  tools?: readonly ToolDefinition[];
  response_format?: ResponseFormat;
}

/** The texts of a message the tokenizer counts: its role, its content's text parts, its tool calls' names and arguments. */
export function messageTexts(m: CountedMessage): { texts: string[]; images: Array<"low" | "high">; toolCalls: number } {
  const texts: string[] = [m.role];
  const images: Array<"low" | "high"> = [];
  const content = m.content;
  if (typeof content === "string") texts.push(content);
  else if (Array.isArray(content)) {
    for (const part of content as ContentPart[]) {
      if (part.type === "text") texts.push(part.text);
      else images.push(part.image_url.detail === "low" ? "low" : "high");
    }
  }
  let toolCalls = 0;
  if (m.role === "assistant" && "tool_calls" in m && m.tool_calls) {
    for (const c of m.tool_calls) {
      texts.push(c.function.name, c.function.arguments);
      toolCalls++;
    }
  }
  if (m.role === "tool") texts.push(m.tool_call_id);
  return { texts, images, toolCalls };
}

/** The JSON texts the extras add to the prompt: each tool's function declaration, the json_schema. */
export function extraTexts(extras: CountedExtras): { toolTexts: string[]; formatText: string | null } {
  const toolTexts = (extras.tools ?? []).map((t) => JSON.stringify(t.function));
  const f = extras.response_format;
  return { toolTexts, formatText: f?.type === "json_schema" ? JSON.stringify(f.json_schema) : null };
}

/** How much output a budget reserves when the request sets no `max_tokens`. */
export const DEFAULT_OUTPUT_ESTIMATE_CAP = 1024;

// User text is text: a "<|endoftext|>" typed by a client is counted as the characters it is,
// as the provider does, instead of throwing. Counted in O(n log n) (see `countO200kTokens`): the
// library's own count is quadratic on long runs without spaces.
function textTokens(text: string): number {
  return countO200kTokens(text);
}

/**
 * Input tokens a chat request costs, counted exactly with the o200k_base encoding (GPT-4o and
 * later; its ranks ship inside `gpt-tokenizer`, nothing is downloaded) plus the chat framing:
 * per message `TOKENS_PER_MESSAGE` + the role name + the content, then `REPLY_PRIMING_TOKENS`.
 * Text parts are counted one by one (the provider concatenates them, so a merge across a part
 * boundary may make the real count a token lower). Images are a fixed estimate: `IMAGE_TOKENS`,
 * or `LOW_DETAIL_IMAGE_TOKENS` for detail "low", since their cost depends on pixel size we do not
 * fetch at admission. Other providers' tokenizers differ by a few percent; o200k is the reference.
 * Agent turns count their tool calls (name and arguments, `TOKENS_PER_TOOL_CALL` each) and a
 * tool result its call id and text; declared tools count the JSON text of each function
 * declaration (`TOKENS_PER_TOOL` each, `TOOLS_FRAMING_TOKENS` once) and a json_schema
 * `response_format` its schema's JSON text: providers put all of them in the prompt.
 * Exact, and O(n log n) in the text's length whatever the text, but still ~0.5 µs per byte of
 * adversarial text: large inputs belong on a `TokenCountPool`, not the event loop.
 */
export function countInputTokens(messages: readonly CountedMessage[], extras: CountedExtras = {}): number {
  let total = REPLY_PRIMING_TOKENS;
  for (const m of messages) {
    const { texts, images, toolCalls } = messageTexts(m);
    total += TOKENS_PER_MESSAGE + toolCalls * TOKENS_PER_TOOL_CALL;
    for (const t of texts) total += textTokens(t);
    for (const d of images) total += d === "low" ? LOW_DETAIL_IMAGE_TOKENS : IMAGE_TOKENS;
  }
  const { toolTexts, formatText } = extraTexts(extras);
  if (toolTexts.length > 0) total += TOOLS_FRAMING_TOKENS;
  for (const t of toolTexts) total += TOKENS_PER_TOOL + textTokens(t);
  if (formatText !== null) total += textTokens(formatText);
  return total;
}

/**
 * The capped output estimate a budget reserves: the request's `max_tokens` when set (the provider
 * cannot exceed it, so the reservation is exact), else `min(cap, modelMaxOutput)`.
 * @param maxTokens the request's `max_tokens`, if any
 * @param modelMaxOutput the model's own output cap from the catalog
 * @param cap ceiling for requests without `max_tokens`. Default `DEFAULT_OUTPUT_ESTIMATE_CAP` (1024).
 */
export function estimateOutputTokens(maxTokens: number | undefined, modelMaxOutput: number, cap = DEFAULT_OUTPUT_ESTIMATE_CAP): number {
  return maxTokens ?? Math.min(cap, modelMaxOutput);
}
