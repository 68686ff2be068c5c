import { contentText, type AgentChatMessage, type ChatMessage } from "@switchyard/contracts";

type AnyMessage = ChatMessage | AgentChatMessage;

/** What a message contributes to the simulated model's input: its text, and the calls an assistant turn made. */
function inputText(m: AnyMessage): string {
  const calls =
    m.role === "assistant" && "tool_calls" in m && m.tool_calls ? m.tool_calls.map((c) => `${c.function.name}${c.function.arguments}`).join("") : "";
  return contentText(m.content) + calls;
}

/** Longest answer the simulated model writes on its own, when the request sets no `maxTokens`. */
export const SIMULATED_MAX_NATURAL_TOKENS = 64;
const MIN_NATURAL_TOKENS = 16;

// A small fixed vocabulary keeps the output readable in demos and logs while staying deterministic.
const WORDS = [
  "the",
  "queue",
  "worker",
  "routes",
  "each",
  "job",
  "to",
  "a",
  "model",
  "and",
  "streams",
  "answer",
  "tokens",
  "arrive",
  "in",
  "order",
  "while",
  "budget",
  "stays",
  "within",
  "its",
  "limit",
  "so",
  "that",
  "every",
  "tenant",
  "sees",
  "steady",
  "latency",
  "gateway",
  "admits",
  "request",
  "after",
  "checking",
  "keys",
  "rate",
  "limits",
  "context",
  "from",
  "documents",
  "grounds",
  "reply",
  "with",
  "citations",
  "breaker",
  "opens",
  "when",
  "upstream",
  "fails",
  "then",
  "fallback",
  "serves",
  "next",
  "tier",
  "usage",
  "ledger",
  "records",
  "cost",
  "once",
  "per",
  "attempt",
  "simulated",
  "provider",
  "text",
];

/** FNV-1a over a string: cheap, stable across runs and platforms. */
export function hashString(input: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < input.length; i++) {
    h ^= input.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** mulberry32: a tiny seeded PRNG, good enough for picking words. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The simulated answer for a conversation, as word deltas ("Word", " word", " word." …).
 * Same model and messages → same deltas; joined they form readable sentences. On its own the
 * answer is 16–64 words; `minLength` makes it at least that long, going on past where it would
 * have ended (its first words stay those of the shorter answer).
 */
export function simulatedDeltas(model: string, messages: readonly AnyMessage[], minLength = 0): string[] {
  let h = hashString(model);
  for (const m of messages) h = hashString(`\u0000${m.role}\u0000${inputText(m)}`, h);
  const rnd = seededRandom(h);
  // The natural length is drawn even when `minLength` overrides it, so the words that follow are the same.
  const natural = MIN_NATURAL_TOKENS + Math.floor(rnd() * (SIMULATED_MAX_NATURAL_TOKENS - MIN_NATURAL_TOKENS + 1));
  const length = Math.max(natural, minLength);
  const deltas: string[] = [];
  let sentenceLeft = 0;
  for (let i = 0; i < length; i++) {
    const startSentence = sentenceLeft === 0;
    if (startSentence) sentenceLeft = 6 + Math.floor(rnd() * 9);
    let word = WORDS[Math.floor(rnd() * WORDS.length)] ?? "token";
    if (startSentence) word = word.charAt(0).toUpperCase() + word.slice(1);
    sentenceLeft--;
    // The last word always closes a sentence so an uncut answer ends with a full stop.
    if (sentenceLeft === 0 || i === length - 1) word += ".";
    deltas.push(i === 0 ? word : ` ${word}`);
  }
  return deltas;
}

/** Rough input token estimate (~4 characters per token), as the simulated provider reports it. */
export function estimateInputTokens(messages: readonly AnyMessage[]): number {
  let chars = 0;
  for (const m of messages) chars += inputText(m).length;
  return Math.ceil(chars / 4);
}

/**
 * Cuts deltas where the first stop sequence begins (the sequence itself is not output, as with
 * OpenAI's `stop`). Deltas after the cut are dropped; the one it falls in is shortened.
 */
export function cutAtStop(deltas: string[], stop: readonly string[] | undefined): string[] {
  if (!stop || stop.length === 0) return deltas;
  const text = deltas.join("");
  let at = -1;
  for (const s of stop) {
    const i = s === "" ? -1 : text.indexOf(s);
    if (i !== -1 && (at === -1 || i < at)) at = i;
  }
  if (at === -1) return deltas;
  const out: string[] = [];
  let len = 0;
  for (const d of deltas) {
    if (len + d.length >= at) {
      if (at > len) out.push(d.slice(0, at - len));
      break;
    }
    out.push(d);
    len += d.length;
  }
  return out;
}
