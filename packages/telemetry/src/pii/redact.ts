import { DETECTORS, type PiiKind, type Span } from "./pii-detectors";

export type { PiiKind } from "./pii-detectors";

/** One piece of personal data found in the input, by its position in the input (not the output). */
export interface PiiFinding extends Span {
  kind: PiiKind;
}

/** What {@link redactPII} returns. */
export interface RedactionResult {
  /** The input with every finding replaced by its placeholder. */
  text: string;
  /** Findings in input order. */
  found: PiiFinding[];
}

/** The placeholder each kind is replaced with. */
export const PII_PLACEHOLDERS: Readonly<Record<PiiKind, string>> = {
  email: "[EMAIL]",
  phone: "[PHONE]",
  credit_card: "[CREDIT_CARD]",
  ssn: "[SSN]",
  iban: "[IBAN]",
  ip: "[IP]",
};

const overlaps = (a: Span, b: Span): boolean => a.start < b.end && b.start < a.end;

/**
 * Replaces personal data in `text`: email addresses; phone numbers (E.164 and common national
 * formats, 10–15 digits); credit card numbers (13–19 digits passing Luhn, from a card network's
 * prefix); US SSNs (ddd-dd-dddd in issued ranges); IBANs (country length and mod-97 check); IPv4
 * and IPv6 addresses. UUIDs, dates, version strings ("1.2.3", "v1.2.3.4") and ISBNs are
 * recognised first and left alone, so digits inside them are never taken for something else. A
 * dotted quad of octets ≤ 255 ("1.2.3.4") counts as an IP address, never as a version.
 *
 * Detectors run in a fixed order and each claims its matches; a later match overlapping an
 * earlier claim is dropped. Deterministic, no I/O; linear-time patterns (no nested unbounded
 * repetition), so it is safe on log lines and untrusted input.
 */
export function redactPII(text: string): RedactionResult {
  const claimed: Span[] = [];
  const found: PiiFinding[] = [];
  for (const detector of DETECTORS) {
    for (const span of detector.find(text)) {
      if (span.end <= span.start || claimed.some((c) => overlaps(c, span))) continue;
      claimed.push(span);
      if (detector.kind) found.push({ kind: detector.kind, start: span.start, end: span.end });
    }
  }
  if (found.length === 0) return { text, found };
  found.sort((a, b) => a.start - b.start);
  let out = "";
  let at = 0;
  for (const f of found) {
    out += text.slice(at, f.start) + PII_PLACEHOLDERS[f.kind];
    at = f.end;
  }
  return { text: out + text.slice(at), found };
}

/**
 * The input with every finding cut out (a space in its place): what a search should use, since
 * a placeholder such as "[EMAIL]" would otherwise be searched as the word "email".
 */
export function withoutFindings(text: string, found: readonly PiiFinding[]): string {
  let out = "";
  let at = 0;
  for (const f of [...found].sort((a, b) => a.start - b.start)) {
    out += `${text.slice(at, f.start)} `;
    at = f.end;
  }
  return out + text.slice(at);
}

/** Nesting deeper than this is replaced by "[Truncated]" (log objects are not that deep; cycles are cut earlier). */
const MAX_DEPTH = 10;

/**
 * A copy of a log value with {@link redactPII} applied to every string in it (object keys
 * included): for pino's `formatters.log`, a serializer, or anything else that writes user text.
 * Errors become plain `{ type, message, stack }` objects (as pino's error serializer makes them),
 * redacted; cycles become "[Circular]"; numbers, booleans, bigint, null and undefined pass as they are.
 */
export function redactLogValue(value: unknown): unknown {
  return walk(value, new WeakSet<object>(), 0);
}

function walk(value: unknown, seen: WeakSet<object>, depth: number): unknown {
  if (typeof value === "string") return redactPII(value).text;
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value)) return "[Circular]";
  if (depth >= MAX_DEPTH) return "[Truncated]";
  seen.add(value);
  try {
    if (value instanceof Error) {
      const extra = walk({ ...value }, seen, depth + 1) as Record<string, unknown>;
      return { ...extra, type: value.name, message: redactPII(value.message).text, stack: value.stack === undefined ? undefined : redactPII(value.stack).text };
    }
    if (value instanceof Date) return value;
    if (Array.isArray(value)) return value.map((v) => walk(v, seen, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[redactPII(k).text] = walk(v, seen, depth + 1);
    return out;
  } finally {
    seen.delete(value);
  }
}

/**
 * pino's `formatters.log` hook: `pino({ formatters: { log: redactLogObject } })` redacts every
 * string of every log record's merged object (the `msg` string is passed separately by pino:
 * redact it with {@link redactPII} at the call site or through a `hooks.logMethod`).
 */
export function redactLogObject(object: Record<string, unknown>): Record<string, unknown> {
  return walk(object, new WeakSet<object>(), 0) as Record<string, unknown>;
}
