import { CreateJobRequest } from "./jobs";
import { JobEvent } from "./events";
import { OpenAIChatRequest, unsupportedParameter } from "./openai-compat";

const weather = {
  type: "function",
  function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
};
const call = { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } };
const firstIssue = (body: unknown) => {
  const r = CreateJobRequest.safeParse(body);
  return r.success ? null : { path: r.error.issues[0]!.path.join("."), message: r.error.issues[0]!.message };
};

test("a job takes tools, tool turns and the agent fields under their OpenAI names", () => {
  const job = CreateJobRequest.parse({
    messages: [
      { role: "developer", content: "be brief" },
      { role: "user", content: "weather?" },
      { role: "assistant", content: null, tool_calls: [call] },
      { role: "tool", tool_call_id: "call_1", content: "sunny" },
    ],
    tools: [weather],
    tool_choice: { type: "function", function: { name: "get_weather" } },
    parallel_tool_calls: false,
    response_format: { type: "json_schema", json_schema: { name: "w", schema: { type: "object" } } },
    stop: ["END"],
    seed: 7,
    presence_penalty: 0.5,
    frequency_penalty: -0.5,
    logprobs: true,
    top_logprobs: 2,
  });
  expect(job.messages).toHaveLength(4);
  expect(job.tools).toHaveLength(1);
});

test("a tool message must answer an earlier call, and tool_choice must name a declared tool", () => {
  expect(
    firstIssue({
      messages: [
        { role: "user", content: "x" },
        { role: "tool", tool_call_id: "call_9", content: "r" },
      ],
      tools: [weather],
    })?.path,
  ).toBe("messages.1.tool_call_id");
  // The answer must come after the call, not before it.
  expect(
    firstIssue({
      messages: [
        { role: "tool", tool_call_id: "call_1", content: "r" },
        { role: "assistant", tool_calls: [call] },
      ],
    })?.path,
  ).toBe("messages.0.tool_call_id");
  expect(
    firstIssue({ messages: [{ role: "user", content: "x" }], tools: [weather], tool_choice: { type: "function", function: { name: "nope" } } })?.path,
  ).toBe("tool_choice.function.name");
  expect(firstIssue({ messages: [{ role: "user", content: "x" }], tool_choice: "auto" })?.path).toBe("tool_choice");
  expect(firstIssue({ messages: [{ role: "user", content: "x" }], tools: [weather, weather] })?.path).toBe("tools.1.function.name");
  expect(
    firstIssue({ messages: [{ role: "user", content: "x" }], tools: [{ type: "function", function: { name: "f", parameters: { type: "string" } } }] })?.path,
  ).toBe("tools.0.function.parameters");
  expect(
    firstIssue({
      messages: [{ role: "user", content: "x" }],
      tools: Array.from({ length: 129 }, (_, i) => ({ type: "function", function: { name: `f${i}` } })),
    })?.path,
  ).toBe("tools");
  expect(firstIssue({ messages: [{ role: "user", content: "x" }], stop: ["a", "b", "c", "d", "e"] })?.path).toBe("stop");
  expect(firstIssue({ messages: [{ role: "user", content: "x" }], top_logprobs: 3 })?.path).toBe("top_logprobs");
  expect(firstIssue({ messages: [{ role: "user", content: "x".repeat(200_001) }] })?.path).toMatch(/^messages\.0\.content/);
});

test("tool_call events carry one fragment of a call", () => {
  expect(JobEvent.parse({ type: "tool_call", data: { index: 0, id: "call_1", name: "f", arguments: "" } }).type).toBe("tool_call");
  expect(JobEvent.safeParse({ type: "tool_call", data: { index: -1, arguments: "" } }).success).toBe(false);
});

test("the OpenAI facade refuses only what nothing can honour, naming the field", () => {
  const base = { model: "auto", messages: [{ role: "user", content: "x" }] };
  const check = (extra: Record<string, unknown>) => unsupportedParameter(OpenAIChatRequest.parse({ ...base, ...extra }))?.param ?? null;
  for (const ok of [
    { tools: [weather], tool_choice: "auto", parallel_tool_calls: true },
    { stop: "x" },
    { seed: 1 },
    { response_format: { type: "json_object" } },
    { presence_penalty: 1 },
    { logprobs: true },
    { max_completion_tokens: 5 },
    { n: 1 },
    { metadata: { a: "b" } },
    { user: "u" },
  ]) {
    expect(check(ok)).toBeNull();
  }
  expect(check({ n: 2 })).toBe("n");
  expect(check({ functions: [{ name: "f" }] })).toBe("functions");
  expect(check({ function_call: "auto" })).toBe("function_call");
  expect(check({ audio: { voice: "x" } })).toBe("audio");
  expect(check({ top_logprobs: 2 })).toBe("top_logprobs");
  expect(check({ logprobs: true, top_logprobs: 2 })).toBeNull();
  expect(check({ messages: [{ role: "function", name: "f", content: "x" }] })).toBe("messages.0.role");
  // An assistant message replayed as the SDK returned it (refusal null, annotations []) is fine.
  expect(
    check({
      messages: [
        { role: "user", content: "x" },
        { role: "assistant", content: null, refusal: null, annotations: [], tool_calls: [call] },
        { role: "tool", tool_call_id: "call_1", content: "r" },
      ],
    }),
  ).toBeNull();
});
