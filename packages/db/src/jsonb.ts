/**
 * JSON text Postgres `jsonb` accepts for any value. `jsonb` refuses the escape `\u0000` and a
 * lone-surrogate escape such as `\ud800` (JSON.stringify writes one for an unpaired surrogate),
 * so a value that carries either (a provider's answer is opaque: we cannot refuse it) has those
 * characters replaced with U+FFFD, the Unicode replacement character, instead of failing the
 * write. An escaped backslash before `u0000` (the text `\\u0000`) is left alone.
 */
export function toJsonb(value: unknown): string {
  const text = JSON.stringify(value) ?? "null";
  if (!text.includes("\\u")) return text;
  return text.replace(/(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/gi, "$1\\ufffd");
}
