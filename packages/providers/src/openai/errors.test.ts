import { ProviderError } from "../types";
import { errorFromResponse, errorFromStreamPayload } from "./errors";
import { kindForStatus, parseRetryAfter, toProviderError } from "../http/errors";

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  it("reads retry-after-ms before retry-after", () => {
    expect(parseRetryAfter({ "retry-after-ms": "1500", "retry-after": "9" }, now)).toBe(1500);
  });
  it("reads delay-seconds, including fractions", () => {
    expect(parseRetryAfter({ "retry-after": "2" }, now)).toBe(2000);
    expect(parseRetryAfter({ "retry-after": "0.25" }, now)).toBe(250);
  });
  it("reads an HTTP date relative to now, never negative", () => {
    expect(parseRetryAfter({ "retry-after": "Thu, 01 Jan 2026 00:00:30 GMT" }, now)).toBe(30_000);
    expect(parseRetryAfter({ "retry-after": "Wed, 31 Dec 2025 23:00:00 GMT" }, now)).toBe(0);
  });
  it("returns undefined when absent, empty or garbage", () => {
    expect(parseRetryAfter({}, now)).toBeUndefined();
    expect(parseRetryAfter({ "retry-after": " " }, now)).toBeUndefined();
    expect(parseRetryAfter({ "retry-after": "soon" }, now)).toBeUndefined();
    expect(parseRetryAfter({ "retry-after": "-3" }, now)).toBeUndefined();
  });
});

describe("status mapping", () => {
  it.each([
    [400, "bad_request"],
    [404, "bad_request"],
    [422, "bad_request"],
    [401, "auth"],
    [403, "auth"],
    [429, "rate_limited"],
    [500, "server_error"],
    [502, "server_error"],
    [503, "server_error"],
    [504, "server_error"],
    [529, "server_error"],
  ])("%i → %s", (status, kind) => {
    expect(kindForStatus(status)).toBe(kind);
  });

  it("names the upstream code and message, and keeps the status", () => {
    const body = '{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}';
    const err = errorFromResponse("openai", 401, {}, body);
    expect(err.message).toBe("openai: HTTP 401 invalid_api_key: Incorrect API key provided");
    expect([err.kind, err.status, err.retryable, err.countsForBreaker]).toEqual(["auth", 401, false, false]);
  });

  it("survives a non-JSON error body", () => {
    const err = errorFromResponse("openai", 502, {}, "<html>Bad Gateway</html>");
    expect(err.kind).toBe("server_error");
    expect(err.message).toContain("Bad Gateway");
  });

  it("maps in-stream errors by type or numeric code", () => {
    expect(errorFromStreamPayload("p", { type: "server_error", message: "boom" }).kind).toBe("server_error");
    expect(errorFromStreamPayload("p", { type: "rate_limit_error", message: "slow" }).kind).toBe("rate_limited");
    expect(errorFromStreamPayload("p", { message: "bad", code: 400 }).kind).toBe("bad_request");
  });
});

describe("toProviderError", () => {
  const withCode = (code: string): Error => Object.assign(new Error(code), { code });
  it("maps undici timeouts to timeout and socket errors to connection", () => {
    expect(toProviderError(withCode("UND_ERR_HEADERS_TIMEOUT"), { provider: "p", phase: "request" }).kind).toBe("timeout");
    expect(toProviderError(withCode("UND_ERR_BODY_TIMEOUT"), { provider: "p", phase: "body" }).kind).toBe("timeout");
    expect(toProviderError(withCode("ECONNREFUSED"), { provider: "p", phase: "request" }).kind).toBe("connection");
    const cut = toProviderError(withCode("UND_ERR_SOCKET"), { provider: "p", phase: "body" });
    expect([cut.kind, cut.message]).toEqual(["connection", "p: upstream cut the response (UND_ERR_SOCKET)"]);
  });
  it("reports our own abort as aborted whatever error it caused", () => {
    const err = toProviderError(withCode("UND_ERR_SOCKET"), { provider: "p", phase: "body", signal: AbortSignal.abort() });
    expect(err.kind).toBe("aborted");
  });
  it("passes ProviderErrors through unchanged", () => {
    const e = new ProviderError("malformed", "x");
    expect(toProviderError(e, { provider: "p", phase: "body" })).toBe(e);
  });
});
