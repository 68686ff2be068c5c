import { encodeEmbedding } from "./embeddings-format";

test("base64 is the little-endian float32 bytes of the vector, and float the same numbers", () => {
  const v = [0.1, -1.5, 3.4028234663852886e38, 0];
  const b64 = encodeEmbedding(v, "base64") as string;
  const bytes = Buffer.from(b64, "base64");
  expect(bytes).toHaveLength(16);
  expect(bytes.readFloatLE(4)).toBe(-1.5);
  expect([...bytes.subarray(4, 8)]).toEqual([0x00, 0x00, 0xc0, 0xbf]); // -1.5 as float32, little-endian
  const decoded = Array.from({ length: 4 }, (_, i) => bytes.readFloatLE(i * 4));
  expect(encodeEmbedding(v, "float")).toEqual(decoded);
  expect(decoded[0]).not.toBe(0.1); // rounded to float32, as OpenAI's vectors are
  expect(decoded[0]).toBeCloseTo(0.1, 7);
});
