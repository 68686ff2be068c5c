import type { ChatMessage, ContentPart } from "@switchyard/contracts";
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
/** How much output a budget reserves when the request sets no `max_tokens`. */
export const DEFAULT_OUTPUT_ESTIMATE_CAP = 1024;

// User text is text: a "<|endoftext|>" typed by a client is counted as the characters it is,
// as the provider does, instead of throwing. Counted in O(n log n) (see `countO200kTokens`): the
// library's own count is quadratic on long runs without spaces.
function textTokens(text: string): number {
  return countO200kTokens(text);
}

function partTokens(part: ContentPart): number {
  if (part.type === "text") return textTokens(part.text);
  return part.image_url.detail === "low" ? LOW_DETAIL_IMAGE_TOKENS : IMAGE_TOKENS;
}

/**
 * Input tokens a chat request costs, counted exactly with the o200k_base encoding (GPT-4o and
 * later; its ranks ship inside `gpt-tokenizer`, nothing is downloaded) plus the chat framing:
 * per message `TOKENS_PER_MESSAGE` + the role name + the content, then `REPLY_PRIMING_TOKENS`.
 * Text parts are counted one by one (the provider concatenates them, so a merge across a part
 * boundary may make the real count a token lower). Images are a fixed estimate: `IMAGE_TOKENS`,
 * or `LOW_DETAIL_IMAGE_TOKENS` for detail "low", since their cost depends on pixel size we do not
 * fetch at admission. Other providers' tokenizers differ by a few percent; o200k is the reference.
 * Exact, and O(n log n) in the text's length whatever the text, but still ~0.5 µs per byte of
 * adversarial text: large inputs belong on a `TokenCountPool`, not the event loop.
 */
export function countInputTokens(messages: readonly ChatMessage[]): number {
  let total = REPLY_PRIMING_TOKENS;
  for (const m of messages) {
    total += TOKENS_PER_MESSAGE + textTokens(m.role);
    if (typeof m.content === "string") total += textTokens(m.content);
    else for (const part of m.content) total += partTokens(part);
  }
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
