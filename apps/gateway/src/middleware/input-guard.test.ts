import fc from "fast-check";
import { checkJsonValue, MAX_JSON_DEPTH, unstorable } from "./input-guard";

const refusal = (value: unknown): { message: string; param?: string } | null => {
  try {
    checkJsonValue(value, "body");
    return null;
  } catch (err) {
    return err as { message: string; param?: string };
  }
};

describe("unstorable", () => {
  it.each([
    ["plain", null],
    ["emoji 😀 pairs", null],
    ["", null],
    ["a\u0000b", "contains a NUL character (U+0000)"],
    ["lone high \ud800 x", "contains an unpaired UTF-16 surrogate"],
    ["lone low \udc00", "contains an unpaired UTF-16 surrogate"],
    ["ends high \ud83d", "contains an unpaired UTF-16 surrogate"],
    ["reversed \udc00\ud800", "contains an unpaired UTF-16 surrogate"],
  ])("%j → %s", (s, why) => {
    expect(unstorable(s)).toBe(why);
  });

  it("agrees with a UTF-8 round trip for any string (seeded)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (s) => {
        const roundTrips = Buffer.from(s, "utf8").toString("utf8") === s;
        expect(unstorable(s) === null).toBe(roundTrips && !s.includes("\u0000"));
      }),
      { seed: 11, numRuns: 2000 },
    );
  });
});

describe("checkJsonValue", () => {
  it("names the field that holds a NUL, in values and keys", () => {
    expect(refusal({ metadata: { note: "a\u0000b" } })).toMatchObject({ param: "metadata.note", message: "metadata.note: contains a NUL character (U+0000)" });
    expect(
      refusal({
        messages: [
          { role: "user", content: "ok" },
          { role: "user", content: "\ud800" },
        ],
      }),
    ).toMatchObject({ param: "messages[1].content" });
    expect(refusal({ metadata: { "k\u0000": 1 } })).toMatchObject({ param: "metadata", message: "metadata: has a key that contains a NUL character (U+0000)" });
    expect(refusal("\u0000")).toMatchObject({ param: "body" });
  });

  it("accepts ordinary bodies", () => {
    expect(refusal({ messages: [{ role: "user", content: "hi 😀" }], metadata: { a: null, b: 1, c: true } })).toBeNull();
  });

  it("bounds nesting without recursion, whatever the depth", () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(refusal(deep)?.message).toContain(`nested more than ${MAX_JSON_DEPTH} levels`);
    let ok: unknown = "leaf";
    for (let i = 0; i < MAX_JSON_DEPTH; i++) ok = { a: ok };
    expect(refusal(ok)).toBeNull();
  });
});
