/**
 * One vector as OpenAI sends it: float32 values, as JSON numbers (`float`), or their
 * little-endian bytes in base64 (`base64`, what the official SDKs ask for and decode). Floats are
 * rounded to float32 either way, so the two formats carry the same numbers.
 */
export function encodeEmbedding(vector: readonly number[], format: "float" | "base64"): number[] | string {
  if (format === "float") return vector.map((x) => Math.fround(x));
  const bytes = Buffer.alloc(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i]!, i * 4);
  return bytes.toString("base64");
}
