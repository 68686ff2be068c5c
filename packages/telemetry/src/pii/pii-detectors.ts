import { isIPv6 } from "node:net";
import { dateParts, ibanChecksumValid, ibanLength, ipv4Valid, isbn10Valid, isbn13Valid, luhnValid, plausibleCardPrefix, ssnValid } from "./pii-checks";

/** The kinds of personal data `redactPII` replaces. */
export type PiiKind = "email" | "phone" | "credit_card" | "ssn" | "iban" | "ip";

/** A half-open character range `[start, end)` of the input. */
export interface Span {
  start: number;
  end: number;
}

/**
 * A detector: `kind` null marks a protector, whose matches (UUIDs, dates, versions, ISBNs) are
 * claimed so that no later detector can take digits inside them, and are left as they are.
 */
export interface Detector {
  kind: PiiKind | null;
  find(text: string): Span[];
}

/**
 * Every match of `re` (global) that `accept` turns into a span. After a rejected match the
 * search resumes one character later, so a candidate overlapping the rejected one is still seen.
 */
function scan(re: RegExp, accept: (m: RegExpExecArray) => Span | null): (text: string) => Span[] {
  return (text) => {
    const out: Span[] = [];
    const r = new RegExp(re.source, re.flags);
    for (let m = r.exec(text); m; m = r.exec(text)) {
      const span = accept(m);
      if (span) {
        out.push(span);
        r.lastIndex = Math.max(span.end, m.index + 1);
      } else r.lastIndex = m.index + 1;
    }
    return out;
  };
}

const whole = (m: RegExpExecArray): Span => ({ start: m.index, end: m.index + m[0].length });
const digitsOf = (s: string): string => s.replace(/\D/g, "");

const uuid: Detector = { kind: null, find: scan(/(?<![0-9A-Za-z-])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9A-Za-z-])/gi, whole) };

const email: Detector = {
  kind: "email",
  find: scan(/(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])/g, whole),
};

/**
 * Country code, check digits, then the BBAN, optionally grouped by single spaces; how many characters
 * make the IBAN comes from the country. The span must end where the token ends.
 */
function ibanShaped(m: RegExpExecArray): { span: Span; compact: string } | null {
  const need = ibanLength(m[0].slice(0, 2));
  if (!need) return null;
  let compact = "";
  let end = 0;
  while (end < m[0].length && compact.length < need) {
    const ch = m[0][end++]!;
    if (ch !== " ") compact += ch;
  }
  const next = m.input[m.index + end];
  if (compact.length !== need || (next !== undefined && /[A-Za-z0-9]/.test(next))) return null;
  return { span: { start: m.index, end: m.index + end }, compact };
}

const IBAN_RE = /(?<![\w])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}/g;

const iban: Detector = {
  kind: "iban",
  find: scan(IBAN_RE, (m) => {
    const c = ibanShaped(m);
    return c && ibanChecksumValid(c.compact) ? c.span : null;
  }),
};

/** An IBAN-shaped string whose check digits fail is no account number, and its digits are no card. */
const badIban: Detector = { kind: null, find: scan(IBAN_RE, (m) => ibanShaped(m)?.span ?? null) };

/** Runs of hex digits, colons and dots with two colons or more; `net.isIPv6` decides. */
const ipv6: Detector = {
  kind: "ip",
  find: scan(/(?<![\w:.])(?=[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:)[0-9A-Fa-f:.]{2,45}(?![\w:])/g, (m) => {
    const candidate = m[0].replace(/[.:]+$/, (tail) => (tail.startsWith("::") ? "::" : ""));
    return isIPv6(candidate) ? { start: m.index, end: m.index + candidate.length } : null;
  }),
};

/** Dotted quads are addresses, even where a version could look the same ("1.2.3.4"); "v1.2.3.4" is a version. */
const ipv4: Detector = {
  kind: "ip",
  find: scan(/(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)/g, (m) => (ipv4Valid(m[0]) ? whole(m) : null)),
};

/** "1.2.3", "v2.0.0-beta.1"; a dotted run of ten digits or more without a "v" is left to the phone detector. */
const version: Detector = {
  kind: null,
  find: scan(/(?<![\w.])[vV]?\d+(?:\.\d+){2,}(?:[-+][0-9A-Za-z][0-9A-Za-z.-]*)?(?![\w])/g, (m) =>
    /^[vV]/.test(m[0]) || digitsOf(m[0]).length < 10 ? whole(m) : null,
  ),
};

const dates: Detector = {
  kind: null,
  find: (text) => [
    ...scan(/(?<![\w-])(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?![\w-]|[./]\d)/g, (m) =>
      dateParts(Number(m[3]), Number(m[4])) ? whole(m) : null,
    )(text),
    ...scan(/(?<![\w-])(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})(?![\w-]|[./]\d)/g, (m) =>
      dateParts(Number(m[1]), Number(m[3])) || dateParts(Number(m[3]), Number(m[1])) ? whole(m) : null,
    )(text),
  ],
};

/** ISBN-13 (978/979, check digit) and hyphenated or labelled ISBN-10 (check digit). */
const isbn: Detector = {
  kind: null,
  find: (text) => [
    ...scan(/(?<![\w-])97[89](?:[- ]?\d){10}(?![\w-])/g, (m) => (isbn13Valid(digitsOf(m[0])) ? whole(m) : null))(text),
    ...scan(/(?<![\w-])(?:ISBN(?:-10)?:? ?)?\d{1,5}-\d{1,7}-\d{1,7}-[\dX](?![\w-])|ISBN(?:-10)?:? ?\d{9}[\dX](?!\w)/g, (m) =>
      isbn10Valid(m[0].replace(/^ISBN(?:-10)?:? ?/, "").replace(/-/g, "")) ? whole(m) : null,
    )(text),
  ],
};

/** ddd-dd-dddd (dashes or spaces, the same both times) within the SSA's issued ranges. */
const ssn: Detector = {
  kind: "ssn",
  find: scan(/(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w]|-\d)/g, (m) => (ssnValid(m[1]!, m[3]!, m[4]!) ? whole(m) : null)),
};

/**
 * 13–19 digits, bare or grouped the way cards are printed (4-4-4-4[-1..3], Amex 4-6-5,
 * Diners 4-6-4, with one kind of separator), passing Luhn from a card network's prefix. A
 * trailing group that breaks Luhn is dropped once ("4111 1111 1111 1111 123").
 */
const creditCard: Detector = {
  kind: "credit_card",
  find: scan(/(?<![\w+-])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{4}([ -])\d{6}\2\d{4,5})(?!\w)/g, (m) => {
    const ok = (s: string) => {
      const d = digitsOf(s);
      return d.length >= 13 && d.length <= 19 && plausibleCardPrefix(d) && luhnValid(d);
    };
    if (ok(m[0])) return whole(m);
    const cut = m[1] ? m[0].lastIndexOf(m[1]) : -1;
    return cut > 0 && m[0].length - cut <= 4 && ok(m[0].slice(0, cut)) ? { start: m.index, end: m.index + cut } : null;
  }),
};

const PHONE_CUE = /(?:phone|tel|telephone|call|mobile|cell|fax|whatsapp|sms|text me|reach me|contact)\b[^\n\d]{0,16}$/i;

/**
 * Phone numbers of 10–15 digits: `+` and a country code (E.164, grouped or not); a
 * parenthesised area code; North American 3-3-4 (optionally after 1); national numbers with a
 * trunk 0 in two to five groups; bare 10–11 digit strings only right after a word like "phone"
 * or "call". Shorter dotted numbers (versions) never reach 10 digits; dotted quads are claimed
 * as addresses before this runs.
 */
/** Whether a phone candidate has a phone's shape; `before` is the text just ahead of it (for the cue words). */
function phoneShape(s: string, before: string): boolean {
  const n = digitsOf(s).length;
  if (n < 10 || n > 15) return false;
  if (s.startsWith("+") || s.includes("(")) return true;
  const groups = s.split(/[ .-]/);
  if (groups.length === 1) return n <= 11 && PHONE_CUE.test(before);
  const lens = groups.map((g) => g.length).join(",");
  if (lens === "3,3,4" || lens === "1,3,3,4") return true;
  return s.startsWith("0") && groups.length <= 5 && n <= 12;
}

const phone: Detector = {
  kind: "phone",
  find: scan(/(?<![\w+.-])(?:\+\d{7,15}|\d{10,11}|(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{1,5}(?:[ .-]\d{1,8}){0,5})(?!\w|[.-]\d)/g, (m) => {
    const before = m.input.slice(Math.max(0, m.index - 40), m.index);
    // Greedy grouping may have taken a number that follows ("555 123 4567 2 times"): drop trailing groups.
    for (let s = m[0]; s.length > 0; s = s.replace(/[ .-]\d{1,8}$/, "")) {
      if (phoneShape(s, before)) return { start: m.index, end: m.index + s.length };
      if (!/[ .-]\d{1,8}$/.test(s)) break;
    }
    return null;
  }),
};

/**
 * Detectors in the order they claim text. Protectors for UUIDs come first (their hex groups look
 * like numbers), emails before anything that could take their digits, addresses before
 * versions, and dates and ISBNs before the number-shaped kinds.
 */
export const DETECTORS: readonly Detector[] = [uuid, email, iban, badIban, ipv6, ipv4, version, dates, isbn, ssn, creditCard, phone];
