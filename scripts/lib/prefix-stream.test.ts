import { createLinePrefixer, createLineSplitter, formatPrefix } from "./prefix-stream";

describe("formatPrefix", () => {
  it("pads the name and adds the separator", () => {
    expect(formatPrefix("gateway", { width: 16 })).toBe("gateway          | ");
  });

  it("never cuts a name longer than the width", () => {
    expect(formatPrefix("usage-aggregator", { width: 7 })).toBe("usage-aggregator | ");
  });

  it("wraps the label in an ANSI colour only when asked", () => {
    expect(formatPrefix("db", { width: 3, color: 0 })).toBe("\u001b[36mdb  | \u001b[0m");
    expect(formatPrefix("db", { width: 3 })).not.toContain("\u001b");
  });
});

describe("createLineSplitter", () => {
  const collect = () => {
    const lines: string[] = [];
    return { lines, splitter: createLineSplitter((l) => lines.push(l)) };
  };

  it("holds a partial line until its newline arrives", () => {
    const { lines, splitter } = collect();
    splitter.push("hel");
    expect(lines).toEqual([]);
    splitter.push("lo\nwor");
    expect(lines).toEqual(["hello"]);
    splitter.push("ld\n\n");
    expect(lines).toEqual(["hello", "world", ""]);
  });

  it("drops the \\r of \\r\\n line ends", () => {
    const { lines, splitter } = collect();
    splitter.push("a\r\nb\r\n");
    expect(lines).toEqual(["a", "b"]);
  });

  it("emits a trailing partial line on flush, once", () => {
    const { lines, splitter } = collect();
    splitter.push("no newline");
    splitter.flush();
    splitter.flush();
    expect(lines).toEqual(["no newline"]);
  });

  it("reassembles a UTF-8 character split across chunks", () => {
    const { lines, splitter } = collect();
    const bytes = Buffer.from("prix: 5 €\n");
    const cut = bytes.length - 2; // inside the 3-byte euro sign
    splitter.push(bytes.subarray(0, cut));
    splitter.push(bytes.subarray(cut));
    expect(lines).toEqual(["prix: 5 €"]);
  });
});

describe("createLinePrefixer", () => {
  it("prefixes every complete line", () => {
    let out = "";
    const p = createLinePrefixer("gw | ", (t) => (out += t));
    p.push(Buffer.from("one\ntwo\nthr"));
    p.push("ee");
    p.flush();
    expect(out).toBe("gw | one\ngw | two\ngw | three\n");
  });
});
