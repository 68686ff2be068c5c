import { buildChatBody } from "./chat";
import { readLogprobs, readToolCallDeltas, readToolCalls } from "./tools";

const tool = { type: "function" as const, function: { name: "f", parameters: { type: "object", properties: {} } } };

describe("OpenAI agent fields", () => {
  it("sends tools, tool_choice, parallel_tool_calls and the other fields under OpenAI's names", () => {
    const body = buildChatBody(
      {
        model: "m",
        messages: [
          { role: "developer", content: "Be brief." },
          { role: "user", content: "x" },
        ],
        tools: [tool],
        toolChoice: "required",
        parallelToolCalls: false,
        stop: ["a", "b"],
        seed: 3,
        logprobs: true,
        topLogprobs: 2,
        responseFormat: { type: "json_object" },
      },
      { stream: false, maxTokensField: "max_completion_tokens" },
    );
    expect(body).toEqual({
      model: "m",
      messages: [
        { role: "developer", content: "Be brief." },
        { role: "user", content: "x" },
      ],
      tools: [tool],
      tool_choice: "required",
      parallel_tool_calls: false,
      stop: ["a", "b"],
      seed: 3,
      response_format: { type: "json_object" },
      logprobs: true,
      top_logprobs: 2,
    });
  });

  it("sends an assistant turn that only calls tools with content null", () => {
    const call = { id: "c1", type: "function" as const, function: { name: "f", arguments: "{}" } };
    const body = buildChatBody(
      {
        model: "m",
        messages: [
          { role: "user", content: "x" },
          { role: "assistant", content: "", tool_calls: [call] },
          { role: "tool", tool_call_id: "c1", content: "ok" },
        ],
        tools: [tool],
      },
      { stream: true, maxTokensField: "max_tokens" },
    );
    expect(body.messages).toEqual([
      { role: "user", content: "x" },
      { role: "assistant", content: null, tool_calls: [call] },
      { role: "tool", tool_call_id: "c1", content: "ok" },
    ]);
  });

  it("leaves tool_choice and parallel_tool_calls out without tools", () => {
    expect(buildChatBody({ model: "m", messages: [{ role: "user", content: "x" }] }, { stream: false, maxTokensField: "max_tokens" })).toEqual({
      model: "m",
      messages: [{ role: "user", content: "x" }],
    });
  });

  it("reads tool calls, stream pieces and logprobs, and refuses pieces without an index", () => {
    expect(readToolCalls("p", [{ id: "c1", type: "function", function: { name: "f", arguments: '{"a":1}' } }])).toEqual([
      { id: "c1", type: "function", function: { name: "f", arguments: '{"a":1}' } },
    ]);
    expect(readToolCalls("p", [])).toBeUndefined();
    expect(() => readToolCalls("p", [{ type: "function", function: { name: "f" } }])).toThrow(/no id/);
    expect(
      readToolCallDeltas("p", [
        { index: 1, id: "c2", type: "function", function: { name: "g", arguments: "" } },
        { index: 0, function: { arguments: '{"a' } },
      ]),
    ).toEqual([
      { type: "tool_call", index: 1, id: "c2", name: "g", argumentsDelta: "" },
      { type: "tool_call", index: 0, argumentsDelta: '{"a' },
    ]);
    expect(() => readToolCallDeltas("p", [{ function: { arguments: "x" } }])).toThrow(expect.objectContaining({ kind: "malformed" }));
    expect(readLogprobs({ content: [{ token: "Hi", logprob: -0.1, bytes: [72, 105], top_logprobs: [{ token: "Hi", logprob: -0.1, bytes: null }] }] })).toEqual([
      { token: "Hi", logprob: -0.1, bytes: [72, 105], topLogprobs: [{ token: "Hi", logprob: -0.1, bytes: null }] },
    ]);
  });
});
