import { isProviderError } from "../types";
import { readResponse } from "./chat";
import { buildGenerateContentBody } from "./request";
import { toolCallId } from "./tools";

describe("Gemini agent fields", () => {
  it("json_object asks for JSON output without a schema; a function without parameters sends no schema", () => {
    const body = buildGenerateContentBody({
      model: "m",
      messages: [
        { role: "developer", content: "Rules." },
        { role: "user", content: "x" },
      ],
      tools: [{ type: "function", function: { name: "ping" } }],
      responseFormat: { type: "json_object" },
    });
    expect(body).toEqual({
      systemInstruction: { parts: [{ text: "Rules." }] },
      contents: [{ role: "user", parts: [{ text: "x" }] }],
      tools: [{ functionDeclarations: [{ name: "ping" }] }],
      generationConfig: { responseMimeType: "application/json" },
    });
  });

  it("refuses a tool result that answers no earlier call, and parallel_tool_calls false, as bad_request", () => {
    for (const run of [
      () =>
        buildGenerateContentBody({
          model: "m",
          messages: [
            { role: "user", content: "x" },
            { role: "tool", tool_call_id: "nope", content: "1" },
          ],
        }),
      () =>
        buildGenerateContentBody({
          model: "m",
          messages: [{ role: "user", content: "x" }],
          tools: [{ type: "function", function: { name: "ping" } }],
          parallelToolCalls: false,
        }),
    ]) {
      let error: unknown;
      try {
        run();
      } catch (err) {
        error = err;
      }
      expect(isProviderError(error) && [error.kind, /nope|parallel_tool_calls/.test(error.message)]).toEqual(["bad_request", true]);
    }
  });

  it("reads functionCall parts, keeping Gemini's id when it sends one and making a stable one otherwise", () => {
    const res = readResponse("gemini", {
      candidates: [
        {
          content: { role: "model", parts: [{ functionCall: { name: "a", args: { x: 1 } } }, { functionCall: { id: "g-7", name: "b" } }] },
          finishReason: "STOP",
        },
      ],
      responseId: "resp/1",
    });
    expect(res.functionCalls).toEqual([
      { name: "a", args: { x: 1 } },
      { id: "g-7", name: "b", args: {} },
    ]);
    expect(res.functionCalls!.map((c, i) => toolCallId(c, res.responseId, i))).toEqual(["call_resp1_0", "g-7"]);
  });
});
