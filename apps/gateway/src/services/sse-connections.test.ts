import { rearmMargin, SseConnections, type SseConnectionsLogger } from "./sse-connections";

interface Line {
  level: "info" | "warn" | "error";
  obj: Record<string, unknown>;
  msg: string;
}

function recorder(): SseConnectionsLogger & { lines: Line[]; events(): unknown[] } {
  const lines: Line[] = [];
  const at = (level: Line["level"]) => (obj: object, msg: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, info: at("info"), warn: at("warn"), error: at("error"), events: () => lines.map((l) => l.obj.event) };
}
const times = (n: number, fn: () => void) => Array.from({ length: n }).forEach(fn);

test("crossing the warning threshold logs one warn line with the count and threshold", () => {
  const log = recorder();
  const c = new SseConnections({ warn: 3, critical: 5, logger: log });
  times(2, () => c.opened());
  expect(log.lines).toEqual([]);
  expect(c.opened()).toBe(3);
  expect(log.lines).toEqual([
    { level: "warn", obj: { event: "sse_connections_high", sse_connections: 3, threshold: 3, severity: "warning" }, msg: "SSE connections at warning level" },
  ]);
});

test("staying above a threshold, going up and down, does not log again", () => {
  const log = recorder();
  const c = new SseConnections({ warn: 3, critical: 10, logger: log });
  times(3, () => c.opened());
  c.opened();
  c.closed(); // 3: at the threshold, not below it
  c.opened();
  times(3, () => c.opened());
  expect(c.count).toBe(7);
  expect(log.events()).toEqual(["sse_connections_high"]);
});

test("dropping below the warning level logs back-to-normal once, and crossing again logs again", () => {
  const log = recorder();
  const c = new SseConnections({ warn: 3, critical: 5, logger: log });
  times(3, () => c.opened());
  c.closed(); // 2
  c.closed(); // 1: already re-armed, no second "normal"
  expect(log.lines.map((l) => [l.level, l.obj.event, l.obj.sse_connections])).toEqual([
    ["warn", "sse_connections_high", 3],
    ["info", "sse_connections_normal", 2],
  ]);
  times(2, () => c.opened()); // 3 again
  expect(log.events()).toEqual(["sse_connections_high", "sse_connections_normal", "sse_connections_high"]);
});

test("the critical threshold logs one error line with severity critical", () => {
  const log = recorder();
  const c = new SseConnections({ warn: 3, critical: 5, logger: log });
  times(4, () => c.opened());
  expect(log.lines.filter((l) => l.level === "error")).toEqual([]);
  c.opened();
  times(3, () => c.opened());
  const errors = log.lines.filter((l) => l.level === "error");
  expect(errors).toEqual([
    {
      level: "error",
      obj: { event: "sse_connections_critical", sse_connections: 5, threshold: 5, severity: "critical" },
      msg: "SSE connections at critical level",
    },
  ]);
  expect(log.events()).toEqual(["sse_connections_high", "sse_connections_critical"]);
});

test("critical re-arms below its threshold without a new warning; a new crossing logs critical again", () => {
  const log = recorder();
  const c = new SseConnections({ warn: 3, critical: 5, logger: log });
  times(5, () => c.opened());
  c.closed(); // 4: critical re-armed, still at warning level
  c.opened(); // 5
  expect(log.events()).toEqual(["sse_connections_high", "sse_connections_critical", "sse_connections_critical"]);
});

test("large thresholds re-arm 10 % below, so a count hovering at the threshold logs once", () => {
  const log = recorder();
  const c = new SseConnections({ warn: 150, critical: 200, logger: log });
  times(150, () => c.opened());
  for (let i = 0; i < 20; i++) {
    c.closed();
    c.opened();
  }
  expect(log.events()).toEqual(["sse_connections_high"]);
  expect(rearmMargin(150)).toBe(15);
  times(15, () => c.closed()); // 135
  expect(log.events()).toEqual(["sse_connections_high", "sse_connections_normal"]);
  times(15, () => c.opened());
  expect(log.events()).toEqual(["sse_connections_high", "sse_connections_normal", "sse_connections_high"]);
});

test("equal thresholds log both lines at that count; a close with nothing open stays at zero", () => {
  const log = recorder();
  const c = new SseConnections({ warn: 1, critical: 1, logger: log });
  expect(c.closed()).toBe(0);
  c.opened();
  expect(log.lines.map((l) => l.level)).toEqual(["warn", "error"]);
  expect(() => new SseConnections({ warn: 5, critical: 4, logger: log })).toThrow(/critical/);
});

test("the ai_sse_connections gauge moves with the count and never below zero", () => {
  let gauge = 0;
  const c = new SseConnections({ warn: 3, critical: 5, logger: recorder(), gauge: { add: (n) => void (gauge += n) } });
  times(4, () => c.opened());
  expect(gauge).toBe(4);
  times(6, () => c.closed());
  expect([gauge, c.count]).toEqual([0, 0]);
});
