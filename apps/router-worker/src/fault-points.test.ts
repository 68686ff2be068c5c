import { faultPoints, noFaults, parseFaultPoints, type FaultPoint } from "./fault-points";
import { RouterEnv } from "./env";

test("parses point:N lists, a bare name meaning its first reach", () => {
  expect(parseFaultPoints("attempt.started:2, delta ,finish.written:1")).toEqual(
    new Map([
      ["attempt.started", 2],
      ["delta", 1],
      ["finish.written", 1],
    ]),
  );
  expect(parseFaultPoints("")).toEqual(new Map());
});

test("an unknown point or a bad count fails the env parse, naming the known points", () => {
  expect(() => parseFaultPoints("attempt.startd:1")).toThrow(/unknown fault point "attempt.startd" \(known: attempt.started,/);
  expect(() => parseFaultPoints("delta:0")).toThrow(/positive integer/);
  expect(RouterEnv.safeParse({ SWITCHYARD_FAULT_POINTS: "nope" }).success).toBe(false);
  expect(RouterEnv.parse({}).SWITCHYARD_FAULT_POINTS.size).toBe(0);
});

test("kills on the Nth reach of a configured point only; unset is the no-op hook", () => {
  const killed: FaultPoint[] = [];
  const fault = faultPoints(new Map<FaultPoint, number>([["delta", 3]]), (p) => killed.push(p));
  for (let i = 0; i < 5; i++) fault("delta");
  fault("run.begun");
  expect(killed).toEqual(["delta"]);
  expect(faultPoints(new Map())).toBe(noFaults);
});
