import { contentText, type AgentChatMessage, type ChatMessage } from "@switchyard/contracts";

type Message = ChatMessage | AgentChatMessage;

/** A message's text for the heuristics: its content, and for an assistant turn its tool calls' names and arguments. */
function messageText(m: Message): string {
  const text = contentText(m.content);
  if (m.role !== "assistant" || !("tool_calls" in m) || !m.tool_calls) return text;
  return [text, ...m.tool_calls.map((c) => `${c.function.name} ${c.function.arguments}`)].filter(Boolean).join("\n");
}

export type RequestDomain = "healthcare" | "tech" | "general";
export type RequestComplexity = "simple" | "moderate" | "complex";

/** What the router learns from a request's messages before choosing a tier. */
export interface Classification {
  domain: RequestDomain;
  complexity: RequestComplexity;
  /** Why: stable tokens such as `code_block`, `math`, `multi_step`, `long_input:3400`, `healthcare_terms:patient,dosage`. */
  signals: string[];
  /** Some message carries an image part. */
  needsVision: boolean;
  /** Rough input size (≈4 characters a token, plus per-message and per-image overheads); an estimate for routing, not for billing. */
  estimatedInputTokens: number;
}

/** Tokens added per message for role and framing, as chat formats do. */
const PER_MESSAGE_TOKENS = 4;
/** OpenAI's figures: a low-detail image is 85 tokens; a typical high-detail one (1024×1024) about 765. */
const LOW_DETAIL_IMAGE_TOKENS = 85;
const IMAGE_TOKENS = 765;
/** Input sizes (estimated tokens) that push complexity up by one and by two. */
const MEDIUM_INPUT_TOKENS = 800;
const LONG_INPUT_TOKENS = 3000;
/** Conversation turns (user + assistant messages) that push complexity up by one and by two. */
const MANY_TURNS = 6;
const VERY_MANY_TURNS = 12;

const HEALTHCARE_TERMS: ReadonlyArray<[string, RegExp]> = [
  ["patient", /\bpatients?\b/],
  ["diagnosis", /\b(diagnosis|diagnoses|differential diagnosis|misdiagnos\w*)\b/],
  ["symptoms", /\bsymptoms?\b|\bsymptomatic\b/],
  ["medication", /\bmedications?\b|\bmedicines?\b|\bdrug interactions?\b/],
  ["dosage", /\bdosages?\b|\bdosing\b|\bdoses?\b|\b\d+(\.\d+)?\s?(mg|mcg|µg|ml|iu)\b/],
  ["clinical", /\bclinical(ly)?\b|\bclinicians?\b/],
  ["prescription", /\bprescri(ption|ptions|be|bed|bing)\b/],
  ["treatment", /\btreatments?\b|\btherap(y|ies|eutic)\b/],
  ["condition", /\b(hypertension|diabetes|diabetic|asthma|copd|sepsis|pneumonia|cancer|tumou?r|stroke|arrhythmia|infection)\b/],
  ["care_setting", /\b(hospital|icu|emergency room|triage|physician|nurse|surgeon|surgery|outpatient|inpatient)\b/],
  ["pharmacology", /\b(contraindicat\w*|side effects?|adverse (event|reaction)s?|antibiotics?|insulin|opioids?|pharmac\w*)\b/],
  ["records", /\b(hipaa|ehr|emr|icd-?10|lab results?|blood pressure|heart rate|mri|ct scan|prognosis|comorbidit\w*)\b/],
];

const TECH_TERMS: ReadonlyArray<[string, RegExp]> = [
  ["language", /\b(javascript|typescript|python|java|golang|rust|c\+\+|c#|kotlin|swift|ruby|php|sql|bash|node\.?js)\b/],
  ["code_terms", /\b(function|variable|class|method|compile[rds]?|runtime|refactor\w*|regex|async|await|callback|null pointer|segfault|recursion)\b/],
  ["debugging", /\b(bug|debug\w*|exception|stack ?trace|error message|traceback|unit tests?)\b/],
  ["infra", /\b(api|endpoint|database|postgres\w*|redis|docker|kubernetes|k8s|deploy\w*|server|http|json|yaml|git|npm|pnpm|ci\/cd)\b/],
  ["frameworks", /\b(react|vue|angular|express|django|flask|spring|tensorflow|pytorch)\b/],
  ["algorithms", /\b(algorithm|big-?o|complexity of|data structure|hash ?map|linked list|binary tree)\b/],
];

const CODE_FENCE = /```[\s\S]*?```/g;
const STACK_TRACE = [
  /Traceback \(most recent call last\)/,
  /^\s+at [\w$.<>]+ ?\(?[^()\s]*:\d+(:\d+)?\)?$/m,
  /^\s+at [\w$.]+\([\w$]+\.(java|kt|scala):\d+\)$/m,
  /\bException in thread\b/,
  /^\s*File "[^"]+", line \d+/m,
  /\b(TypeError|ReferenceError|SyntaxError|ValueError|KeyError|NullPointerException|RuntimeError|panic): /,
];
const MATH = [
  /\\(frac|sum|int|sqrt|lim|partial|alpha|beta|theta|sigma|begin\{(equation|align)\})/,
  /\$\$[^$]+\$\$/,
  /\d\s*[+*^×÷=<>]\s*\(?-?\d/,
  /\d\s+[-/]\s+\d/,
  /\b[a-z]\s*(\^|\*\*)\s*\d/,
  /\b\d*[a-z]\s*[+-]\s*\d+\s*=\s*-?\d/,
  /\b(integral|derivative|equation|solve for|eigen\w*|matrix|probability|theorem|logarithm|polynomial)\b/,
];
const MULTI_STEP =
  /\b(step[- ]by[- ]step|compare|comparison|contrast|analy[sz]e|analysis|evaluate|trade-?offs?|pros and cons|explain why|justify|derive|prove|design (a|an|the)|plan (a|an|the)|first\b[^.]*\bthen)\b/g;
const NUMBERED_ITEM = /^\s*(\d+[.)]|[-*•])\s+\S/gm;

/** One name per cue, so "compare" and "comparison" count once. */
function cueName(match: string): string {
  if (match.startsWith("first")) return "first_then";
  if (match.startsWith("compar") || match === "contrast") return "compare";
  if (match.startsWith("analy")) return "analyze";
  if (match.startsWith("trade")) return "tradeoffs";
  if (match.startsWith("design") || match.startsWith("plan")) return match.split(" ")[0] ?? match;
  return match.replace(/[- ]+/g, "_");
}

function matchedTerms(text: string, terms: ReadonlyArray<[string, RegExp]>): string[] {
  return terms.filter(([, re]) => re.test(text)).map(([name]) => name);
}

function imageTokens(messages: readonly Message[]): { count: number; tokens: number } {
  let count = 0;
  let tokens = 0;
  for (const m of messages) {
    if (!Array.isArray(m.content)) continue;
    for (const p of m.content) {
      if (p.type !== "image_url") continue;
      count += 1;
      tokens += p.image_url.detail === "low" ? LOW_DETAIL_IMAGE_TOKENS : IMAGE_TOKENS;
    }
  }
  return { count, tokens };
}

/**
 * Classify a chat request by domain and complexity with keyword and pattern heuristics. Pure and
 * deterministic: the same messages always give the same result, so a decision can be replayed.
 *
 * - Domain reads system and user text (a system prompt like "you are a clinical assistant" counts);
 *   healthcare wins a tie with tech, since misrouting medical questions downwards is the costlier error.
 * - Complexity scores user text: code blocks, stack traces, math, multi-step cues, lists of
 *   several items, input length (≥ 800 / ≥ 3000 estimated tokens) and turns (≥ 6 / ≥ 12).
 *   Score 0 → simple, 1–2 → moderate, ≥ 3 → complex.
 */
export function classifyRequest(messages: readonly Message[]): Classification {
  const signals: string[] = [];
  const texts = messages.map((m) => ({ role: m.role, text: messageText(m) }));
  const promptText = texts
    .filter((t) => t.role !== "assistant")
    .map((t) => t.text)
    .join("\n");
  const userText = texts
    .filter((t) => t.role === "user")
    .map((t) => t.text)
    .join("\n");
  const chars = texts.reduce((n, t) => n + t.text.length, 0);
  const images = imageTokens(messages);
  const estimatedInputTokens = Math.ceil(chars / 4) + PER_MESSAGE_TOKENS * messages.length + images.tokens;
  const needsVision = images.count > 0;
  if (needsVision) signals.push(`images:${images.count}`);

  // Domain.
  const lowerPrompt = promptText.toLowerCase();
  const codeBlocks = promptText.match(CODE_FENCE)?.length ?? 0;
  const stackTrace = STACK_TRACE.some((re) => re.test(promptText));
  const proseLower = lowerPrompt.replace(CODE_FENCE, " ");
  const health = matchedTerms(proseLower, HEALTHCARE_TERMS);
  const tech = matchedTerms(proseLower, TECH_TERMS);
  const techScore = tech.length + (codeBlocks > 0 ? 2 : 0) + (stackTrace ? 2 : 0);
  if (health.length) signals.push(`healthcare_terms:${health.join(",")}`);
  if (tech.length) signals.push(`tech_terms:${tech.join(",")}`);
  const domain: RequestDomain = health.length > 0 && health.length >= techScore ? "healthcare" : techScore > 0 ? "tech" : "general";

  // Complexity.
  let score = 0;
  const userCodeBlocks = userText.match(CODE_FENCE)?.length ?? 0;
  if (userCodeBlocks > 0) {
    signals.push(userCodeBlocks > 1 ? `code_block:${userCodeBlocks}` : "code_block");
    score += userCodeBlocks > 2 ? 2 : 1;
  }
  const userProse = userText.replace(CODE_FENCE, " ");
  if (stackTrace && STACK_TRACE.some((re) => re.test(userText))) {
    signals.push("stack_trace");
    score += 1;
  }
  if (MATH.some((re) => re.test(userProse))) {
    signals.push("math");
    score += 1;
  }
  const cues = new Set((userProse.toLowerCase().match(MULTI_STEP) ?? []).map(cueName));
  if (cues.size > 0) {
    signals.push(`multi_step:${[...cues].sort().join(",")}`);
    score += cues.size > 1 ? 2 : 1;
  }
  const items = userProse.match(NUMBERED_ITEM)?.length ?? 0;
  if (items >= 3) {
    signals.push(`list_items:${items}`);
    score += 1;
  }
  if (estimatedInputTokens >= LONG_INPUT_TOKENS) {
    signals.push(`long_input:${estimatedInputTokens}`);
    score += 2;
  } else if (estimatedInputTokens >= MEDIUM_INPUT_TOKENS) {
    signals.push(`medium_input:${estimatedInputTokens}`);
    score += 1;
  }
  const turns = messages.filter((m) => m.role !== "system" && m.role !== "developer").length;
  if (turns >= VERY_MANY_TURNS) {
    signals.push(`many_turns:${turns}`);
    score += 2;
  } else if (turns >= MANY_TURNS) {
    signals.push(`many_turns:${turns}`);
    score += 1;
  }
  const complexity: RequestComplexity = score >= 3 ? "complex" : score >= 1 ? "moderate" : "simple";
  signals.push(`complexity_score:${score}`);
  return { domain, complexity, signals, needsVision, estimatedInputTokens };
}
