import { failureType, jobFailure } from "./openai-format";

describe("jobFailure: a failed job as the error a chat-completions client gets", () => {
  test("a budget refused before a re-run is the 402 budget error it is, not an upstream 502", () => {
    for (const code of ["budget_exhausted", "insufficient_credits"] as const) {
      const e = jobFailure(code, "the budget cannot fund the re-run", "failed");
      expect({ code: e.code, status: e.status, type: e.type, message: e.message }).toEqual({
        code,
        status: 402,
        type: "budget_error",
        message: "the budget cannot fund the re-run",
      });
    }
  });

  test("a provider failure is 502 upstream_error naming the job's code; a cancel is job_canceled", () => {
    const up = jobFailure("provider_error", "boom", "failed");
    expect({ code: up.code, status: up.status, message: up.message }).toEqual({ code: "upstream_error", status: 502, message: "provider_error: boom" });
    expect(jobFailure("canceled", "stopped", "canceled").code).toBe("job_canceled");
  });
});

test("in a stream, the error object's type follows the same split", () => {
  expect([failureType("budget_exhausted", false), failureType("provider_error", false), failureType("canceled", true)]).toEqual([
    "budget_error",
    "api_error",
    "conflict_error",
  ]);
});
