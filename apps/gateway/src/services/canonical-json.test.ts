import { canonicalHash, canonicalJson } from "./canonical-json";

test("key order does not matter at any depth; array order does", () => {
  expect(canonicalJson({ b: 1, a: { d: [1, 2], c: "x" } })).toBe('{"a":{"c":"x","d":[1,2]},"b":1}');
  expect(canonicalHash({ a: 1, b: { c: 2, d: 3 } })).toBe(canonicalHash({ b: { d: 3, c: 2 }, a: 1 }));
  expect(canonicalHash({ a: [1, 2] })).not.toBe(canonicalHash({ a: [2, 1] }));
});

test("undefined fields are dropped, null is kept, strings are escaped", () => {
  expect(canonicalJson({ a: undefined, b: null, c: 'q"' })).toBe('{"b":null,"c":"q\\""}');
  expect(canonicalHash({ a: 1, b: undefined })).toBe(canonicalHash({ a: 1 }));
  expect(canonicalHash({ a: null })).not.toBe(canonicalHash({}));
});
