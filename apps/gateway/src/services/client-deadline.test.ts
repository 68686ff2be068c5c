import { isApiError } from "@switchyard/contracts";
import type { IncomingMessage } from "node:http";
import { clientDeadline } from "./client-deadline";

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const refusal = (headers: Record<string, string>) => {
  try {
    clientDeadline(req(headers));
  } catch (err) {
    if (isApiError(err)) return { status: err.status, code: err.code, param: err.param };
    throw err;
  }
  return null;
};

test("no deadline header: no client deadline", () => {
  expect(clientDeadline(req({}))).toBeNull();
});

test("X-Request-Timeout is seconds (decimals too); X-Stainless-Timeout is the SDK's whole seconds, its 0 read as 1 s", () => {
  expect(clientDeadline(req({ "x-request-timeout": "2" }))).toEqual({ ms: 2000, header: "X-Request-Timeout" });
  expect(clientDeadline(req({ "x-request-timeout": " 0.5 " }))).toEqual({ ms: 500, header: "X-Request-Timeout" });
  expect(clientDeadline(req({ "x-stainless-timeout": "600" }))).toEqual({ ms: 600_000, header: "X-Stainless-Timeout" });
  expect(clientDeadline(req({ "x-stainless-timeout": "0" }))).toEqual({ ms: 1000, header: "X-Stainless-Timeout" });
});

test("with both, the sooner one wins", () => {
  expect(clientDeadline(req({ "x-request-timeout": "30", "x-stainless-timeout": "600" }))).toEqual({ ms: 30_000, header: "X-Request-Timeout" });
  expect(clientDeadline(req({ "x-request-timeout": "900", "x-stainless-timeout": "60" }))).toEqual({ ms: 60_000, header: "X-Stainless-Timeout" });
});

test("anything but a positive number of seconds up to an hour is a 400 naming the header", () => {
  for (const v of ["", "soon", "0", "-1", "1e3", "3601", "Infinity", "NaN", "2s"]) {
    expect([v, refusal({ "x-request-timeout": v })]).toEqual([v, { status: 400, code: "invalid_request", param: "X-Request-Timeout" }]);
  }
  expect(refusal({ "x-stainless-timeout": "-5" })).toEqual({ status: 400, code: "invalid_request", param: "X-Stainless-Timeout" });
});
