import { O200K_MAX_TOKEN_BYTES } from "@switchyard/tokenizer";
import {
  extraTexts,
  IMAGE_TOKENS,
  LOW_DETAIL_IMAGE_TOKENS,
  messageTexts,
  REPLY_PRIMING_TOKENS,
  TOKENS_PER_MESSAGE,
  TOKENS_PER_TOOL,
  TOKENS_PER_TOOL_CALL,
  TOOLS_FRAMING_TOKENS,
  type CountedExtras,
  type CountedMessage,
} from "./token-count";

/** The least a text can count: no o200k token covers more than `O200K_MAX_TOKEN_BYTES` (128) UTF-8 bytes. */
function textFloor(text: string): { tokens: number; bytes: number } {
  const bytes = Buffer.byteLength(text, "utf8");
  return { tokens: Math.ceil(bytes / O200K_MAX_TOKEN_BYTES), bytes };
}

/** One message's floor: its framing, role, content and tool calls, as `countInputTokens` counts them. */
function messageFloor(m: CountedMessage): { tokens: number; bytes: number } {
  const { texts, images, toolCalls } = messageTexts(m);
  const role = textFloor(m.role);
  let tokens = TOKENS_PER_MESSAGE + toolCalls * TOKENS_PER_TOOL_CALL + role.tokens;
  let bytes = 0;
  for (const text of texts.slice(1)) {
    const t = textFloor(text);
    tokens += t.tokens;
    bytes += t.bytes;
  }
  for (const d of images) tokens += d === "low" ? LOW_DETAIL_IMAGE_TOKENS : IMAGE_TOKENS;
  return { tokens, bytes };
}

/** A lower bound on `countInputTokens(messages)`, per message and in total. */
export interface InputTokensFloor {
  /** Never above `countInputTokens(messages)`. */
  tokens: number;
  /** UTF-8 bytes of the messages' text (roles excluded). */
  bytes: number;
  /** The message with the highest floor (its index in `messages`), or null when there are none. */
  largest: { index: number; tokens: number; bytes: number } | null;
}

/**
 * A lower bound on the input tokens of a request, from the UTF-8 byte length of its text alone:
 * `⌈bytes / 128⌉` per text (128 bytes is the longest o200k_base token, 128 spaces), plus the exact
 * chat framing and image estimates of `countInputTokens`. O(n) with a native byte count (~0.1 ms
 * per MB), no tokenizing, so a request that can never fit its limit is refused before any
 * tokenizer runs.
 */
export function inputTokensFloor(messages: readonly CountedMessage[], extras: CountedExtras = {}): InputTokensFloor {
  let tokens = REPLY_PRIMING_TOKENS;
  let bytes = 0;
  // Declared tools and a json_schema format are prompt text too (not a message: never `largest`).
  const { toolTexts, formatText } = extraTexts(extras);
  if (toolTexts.length > 0) tokens += TOOLS_FRAMING_TOKENS;
  for (const text of [...toolTexts, ...(formatText === null ? [] : [formatText])]) {
    const t = textFloor(text);
    tokens += t.tokens + (text === formatText ? 0 : TOKENS_PER_TOOL);
    bytes += t.bytes;
  }
  let largest: InputTokensFloor["largest"] = null;
  for (let index = 0; index < messages.length; index++) {
    const f = messageFloor(messages[index]!);
    tokens += f.tokens;
    bytes += f.bytes;
    if (!largest || f.tokens > largest.tokens) largest = { index, ...f };
  }
  return { tokens, bytes, largest };
}

/** The verdict of `checkTokensPerRequestFloor`. */
export type TokensFloorVerdict =
  { ok: true; floor: InputTokensFloor } | { ok: false; reason: "tokens_per_request"; param: string; floor: InputTokensFloor; message: string };

/**
 * Refuses a request whose text alone is too long to fit `tokens_per_request` whatever it says:
 * its input floor (`inputTokensFloor`) plus `outputTokens` (its `max_tokens`, or the output
 * estimate) is over the limit. The same limit the rate limiter judges on the exact count, so
 * nothing it would admit is refused here; `ok` means "count it". `param` names the message that
 * is over on its own (`messages[i]`), else `messages`.
 */
export function checkTokensPerRequestFloor(
  messages: readonly CountedMessage[],
  outputTokens: number,
  tokensPerRequest: number,
  extras: CountedExtras = {},
): TokensFloorVerdict {
  const floor = inputTokensFloor(messages, extras);
  if (floor.tokens + outputTokens <= tokensPerRequest) return { ok: true, floor };
  const big = floor.largest;
  // A single message is over on its own when it, the reply priming and the output cannot fit.
  const alone = big !== null && big.tokens + REPLY_PRIMING_TOKENS + outputTokens > tokensPerRequest;
  const param = alone ? `messages[${big.index}]` : "messages";
  const what = alone
    ? `${param} alone is ${big.bytes} bytes of text, at least ${big.tokens} tokens`
    : `messages are ${floor.bytes} bytes of text, at least ${floor.tokens} tokens`;
  return {
    ok: false,
    reason: "tokens_per_request",
    param,
    floor,
    message: `${param}: this request needs at least ${floor.tokens + outputTokens} tokens (input plus max_tokens): ${what} (no token is longer than ${O200K_MAX_TOKEN_BYTES} bytes), over this deployment's limit of ${tokensPerRequest} tokens per request (tokens_per_request). Shorten the input or lower max_tokens.`,
  };
}
