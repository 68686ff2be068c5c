import { generateApiKey, hashSecret, parseApiKey, secretMatches } from "./api-key-material";

test("a generated key parses back to its id, and only the hash of its secret matches", () => {
  const k = generateApiKey();
  expect(k.key).toMatch(/^sy_live_[a-z0-9]{20}_[A-Za-z0-9]{40}$/);
  const p = parseApiKey(k.key)!;
  expect(p).toMatchObject({ kind: "secret", id: k.id });
  expect(k.secretHash).toBe(hashSecret(p.secret));
  expect(k.secretHash).not.toContain(p.secret);
  expect(secretMatches(p.secret, k.secretHash)).toBe(true);
  expect(secretMatches(p.secret.slice(0, -1) + (p.secret.endsWith("a") ? "b" : "a"), k.secretHash)).toBe(false);
});

test("publishable keys and malformed keys", () => {
  expect(parseApiKey(generateApiKey("publishable").key)?.kind).toBe("publishable");
  for (const bad of [
    "",
    "sy_live_",
    "sy_live_abc_def",
    "Bearer x",
    "sy_test_aaaaaaaaaaaaaaaaaaaa_" + "a".repeat(40),
    "sy_live_AAAAAAAAAAAAAAAAAAAA_" + "a".repeat(40),
  ]) {
    expect(parseApiKey(bad)).toBeNull();
  }
});

test("two keys never share an id or a secret", () => {
  const keys = Array.from({ length: 200 }, () => generateApiKey());
  expect(new Set(keys.map((k) => k.id)).size).toBe(200);
  expect(new Set(keys.map((k) => k.secretHash)).size).toBe(200);
});
