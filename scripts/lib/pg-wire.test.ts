import { BackendTracker, CANCEL_REQUEST_CODE, errorResponse, FrontendFramer, SSL_REQUEST_CODE } from "./pg-wire";

const untyped = (code: number, body: Buffer = Buffer.alloc(0)) => {
  const b = Buffer.alloc(8 + body.length);
  b.writeInt32BE(8 + body.length, 0);
  b.writeInt32BE(code, 4);
  body.copy(b, 8);
  return b;
};
const typed = (type: string, body: Buffer | string = Buffer.alloc(0)) => {
  const payload = typeof body === "string" ? Buffer.from(body) : body;
  const b = Buffer.alloc(5 + payload.length);
  b.write(type, 0, "latin1");
  b.writeInt32BE(4 + payload.length, 1);
  payload.copy(b, 5);
  return b;
};
const startup = untyped(196608, Buffer.from("user\0postgres\0\0"));

describe("FrontendFramer", () => {
  it("frames SSL request, startup, then typed messages", () => {
    const f = new FrontendFramer();
    const query = typed("Q", "select 1\0");
    const msgs = f.push(Buffer.concat([untyped(SSL_REQUEST_CODE), startup, query, typed("S")]));
    expect(msgs.map((m) => (m.kind === "typed" ? m.type : m.kind))).toEqual(["ssl-request", "startup", "Q", "S"]);
    const q = msgs[2];
    expect(q?.kind === "typed" && q.bytes.equals(query)).toBe(true);
  });

  it("waits for a message split across chunks, byte by byte", () => {
    const f = new FrontendFramer();
    const all = Buffer.concat([startup, typed("P", "\0select $1\0\0\0"), typed("B", "\0\0\0\0\0\0\0\0"), typed("S")]);
    const seen: string[] = [];
    for (const byte of all) for (const m of f.push(Buffer.from([byte]))) seen.push(m.kind === "typed" ? m.type : m.kind);
    expect(seen).toEqual(["startup", "P", "B", "S"]);
  });

  it("recognises a cancel request", () => {
    const f = new FrontendFramer();
    expect(f.push(untyped(CANCEL_REQUEST_CODE, Buffer.alloc(8)))).toEqual([{ kind: "cancel-request" }]);
  });

  it("rejects an impossible length instead of waiting forever", () => {
    const f = new FrontendFramer();
    f.push(startup);
    const bad = Buffer.from([0x51, 0, 0, 0, 2]);
    expect(() => f.push(bad)).toThrow(/invalid message length/);
  });
});

describe("BackendTracker", () => {
  const rfq = (s: string) => typed("Z", s);

  it("reports the status of the last ReadyForQuery, once", () => {
    const t = new BackendTracker();
    t.push(Buffer.concat([typed("1"), typed("2"), typed("C", "SELECT 1\0"), rfq("T")]));
    expect(t.takeReadyStatus()).toBe("T");
    expect(t.takeReadyStatus()).toBeUndefined();
  });

  it("reports nothing for replies without ReadyForQuery (Parse/Bind halfway)", () => {
    const t = new BackendTracker();
    t.push(typed("1"));
    expect(t.takeReadyStatus()).toBeUndefined();
  });

  it("is not fooled by Z bytes inside a data row, and follows split chunks", () => {
    const t = new BackendTracker();
    const row = typed("D", Buffer.from([0, 1, 0, 0, 0, 6, 0x5a, 0, 0, 0, 5, 0x49]));
    const all = Buffer.concat([row, typed("C", "SELECT 1\0"), rfq("E")]);
    for (const byte of all) t.push(Uint8Array.from([byte]));
    expect(t.takeReadyStatus()).toBe("E");
    t.push(row);
    expect(t.takeReadyStatus()).toBeUndefined();
  });
});

describe("errorResponse", () => {
  it("builds a well-formed ErrorResponse", () => {
    const b = errorResponse("FATAL", "53300", "too many");
    expect(b.toString("latin1", 0, 1)).toBe("E");
    expect(b.readInt32BE(1)).toBe(b.length - 1);
    expect(b.toString("utf8")).toContain("C53300\0");
    expect(b[b.length - 1]).toBe(0);
  });
});
