import { SseDecoder, type SseEvent } from "./sse";

function decodeAll(pieces: Array<string | Uint8Array>): SseEvent[] {
  const d = new SseDecoder();
  const out: SseEvent[] = [];
  for (const p of pieces) out.push(...d.push(typeof p === "string" ? Buffer.from(p, "utf8") : p));
  out.push(...d.end());
  return out;
}

describe("SseDecoder", () => {
  it("parses LF and CRLF framed events identically", () => {
    const lf = decodeAll(['data: {"a":1}\n\ndata: [DONE]\n\n']);
    const crlf = decodeAll(['data: {"a":1}\r\n\r\ndata: [DONE]\r\n\r\n']);
    expect(lf).toEqual([
      { event: "message", data: '{"a":1}' },
      { event: "message", data: "[DONE]" },
    ]);
    expect(crlf).toEqual(lf);
  });

  it("treats a CRLF split across chunks as one line break", () => {
    expect(decodeAll(["data: x\r", "\n\r", "\ndata: y\r\n\r\n"])).toEqual([
      { event: "message", data: "x" },
      { event: "message", data: "y" },
    ]);
  });

  it("accepts bare CR line endings", () => {
    expect(decodeAll(["data: x\r\rdata: y\r\r"]).map((e) => e.data)).toEqual(["x", "y"]);
  });

  it("reassembles multi-byte UTF-8 split across chunks, byte by byte", () => {
    const text = 'data: {"c":"héllo 🌍 wörld — 日本"}\n\n';
    const bytes = Buffer.from(text, "utf8");
    const pieces = [...bytes].map((b) => Uint8Array.of(b));
    expect(decodeAll(pieces)).toEqual([{ event: "message", data: '{"c":"héllo 🌍 wörld — 日本"}' }]);
  });

  it("ignores comments and unknown fields, joins multi-line data, keeps event names", () => {
    const events = decodeAll([": keep-alive\n\nid: 7\nretry: 100\nfoo: bar\nevent: error\ndata: line1\ndata:line2\n\n"]);
    expect(events).toEqual([{ event: "error", data: "line1\nline2" }]);
  });

  it("dispatches a final event that lacks its blank line at end of stream", () => {
    expect(decodeAll(["data: [DONE]"])).toEqual([{ event: "message", data: "[DONE]" }]);
  });

  it("emits nothing for a stream of blank lines and comments", () => {
    expect(decodeAll(["\n\n: ping\n\n\r\n"])).toEqual([]);
  });
});
