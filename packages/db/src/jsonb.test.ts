import { toJsonb } from "./jsonb";

describe("toJsonb", () => {
  it.each([
    [{ text: "a\u0000b" }, '{"text":"a\\ufffdb"}'],
    [{ text: "lone \ud800 high" }, '{"text":"lone \\ufffd high"}'],
    [{ text: "lone \udfff low" }, '{"text":"lone \\ufffd low"}'],
    [{ text: "pair 😀 kept" }, '{"text":"pair 😀 kept"}'],
    [{ text: "literal \\u0000 typed" }, '{"text":"literal \\\\u0000 typed"}'],
    [{ text: "\\\u0000" }, '{"text":"\\\\\\ufffd"}'],
    [{ text: "tab\tand \u0001" }, '{"text":"tab\\tand \\u0001"}'],
    [null, "null"],
    [undefined, "null"],
  ])("%j → %s", (value, json) => {
    expect(toJsonb(value)).toBe(json);
  });

  it("changes nothing a round trip through JSON keeps", () => {
    const v = { a: ["x", 1, true, null, { b: "ünïcödé 中文 \u0007" }] };
    expect(JSON.parse(toJsonb(v))).toEqual(v);
  });
});
