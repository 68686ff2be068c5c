import { isProviderError, type ChatRequest } from "../types";
import { buildMessagesBody } from "./request";

const opts = { stream: false, defaultMaxTokens: 100 };
const noParams = { type: "function" as const, function: { name: "ping" } };
const withTools = (extra: Partial<Extract<ChatRequest, { tools: unknown }>>): ChatRequest => ({
  model: "m",
  messages: [{ role: "user", content: "x" }],
  tools: [noParams],
  ...extra,
});

describe("Anthropic agent fields", () => {
  it("gives a function without parameters an empty object schema, and developer messages join system", () => {
    const body = buildMessagesBody(
      {
        model: "m",
        messages: [
          { role: "developer", content: "Rules." },
          { role: "user", content: "x" },
        ],
        tools: [noParams],
        stop: ["END"],
      },
      opts,
    );
    expect(body).toMatchObject({ system: "Rules.", tools: [{ name: "ping", input_schema: { type: "object", properties: {} } }], stop_sequences: ["END"] });
    expect(body.tool_choice).toBeUndefined();
  });

  it.each([
    [undefined, { type: "auto", disable_parallel_tool_use: true }],
    ["auto", { type: "auto", disable_parallel_tool_use: true }],
    ["required", { type: "any", disable_parallel_tool_use: true }],
    [
      { type: "function", function: { name: "ping" } },
      { type: "tool", name: "ping", disable_parallel_tool_use: true },
    ],
    ["none", { type: "none" }],
  ] as const)("parallelToolCalls false with tool_choice %j → %j", (toolChoice, expected) => {
    expect(buildMessagesBody(withTools({ toolChoice, parallelToolCalls: false }), opts).tool_choice).toEqual(expected);
  });

  it("refuses arguments that are not a JSON object, and fields it cannot honour, as bad_request naming them", () => {
    const call = { id: "c1", type: "function" as const, function: { name: "ping", arguments: "[1,2]" } };
    const bad = (run: () => unknown): string => {
      try {
        run();
      } catch (err) {
        if (isProviderError(err) && err.kind === "bad_request") return err.message;
        throw err;
      }
      throw new Error("expected bad_request");
    };
    expect(
      bad(() =>
        buildMessagesBody(
          withTools({
            messages: [
              { role: "user", content: "x" },
              { role: "assistant", tool_calls: [call] },
            ],
          }),
          opts,
        ),
      ),
    ).toContain("messages.1.tool_calls.0.function.arguments");
    expect(
      bad(() =>
        buildMessagesBody({ model: "m", messages: [{ role: "user", content: "x" }], frequencyPenalty: 0.5, responseFormat: { type: "json_object" } }, opts),
      ),
    ).toMatch(/frequency_penalty, response_format/);
    // A conversation holding tool results cannot be sent without its tools.
    expect(
      bad(() =>
        buildMessagesBody(
          {
            model: "m",
            messages: [
              { role: "user", content: "x" },
              { role: "assistant", tool_calls: [{ ...call, function: { name: "ping", arguments: "{}" } }] },
              { role: "tool", tool_call_id: "c1", content: "pong" },
            ],
          },
          opts,
        ),
      ),
    ).toContain("tools");
  });
});
