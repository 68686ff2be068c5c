import { ChatMessage } from "./jobs";
import { AgentChatMessage, ResponseFormat, ToolChoice, ToolDefinition } from "./tools";

const fn = (parameters: unknown, name = "get_weather") => ({ type: "function", function: { name, parameters } });

test("a tool's parameters must be a JSON Schema object with type object, bounded in depth and size", () => {
  expect(ToolDefinition.safeParse(fn({ type: "object", properties: { city: { type: "string" } } })).success).toBe(true);
  expect(ToolDefinition.safeParse({ type: "function", function: { name: "noargs" } }).success).toBe(true);
  // `{}` (no arguments, as many clients send it) is read as an empty object schema.
  expect(ToolDefinition.parse(fn({})).function.parameters).toEqual({ type: "object", properties: {} });
  expect(ToolDefinition.safeParse(fn({ type: "string" })).success).toBe(false);
  expect(ToolDefinition.safeParse(fn({ type: "object" }, "bad name!")).success).toBe(false);
  let deep: Record<string, unknown> = { type: "string" };
  for (let i = 0; i < 40; i++) deep = { type: "object", properties: { a: deep } };
  expect(ToolDefinition.safeParse(fn(deep)).success).toBe(false);
  expect(ToolDefinition.safeParse(fn({ type: "object", description: "x".repeat(100_001) })).success).toBe(false);
});

test("tool_choice, response_format and agent messages take OpenAI's shapes", () => {
  expect(["none", "auto", "required", { type: "function", function: { name: "f" } }].every((c) => ToolChoice.safeParse(c).success)).toBe(true);
  expect(ToolChoice.safeParse("any").success).toBe(false);
  expect(ResponseFormat.safeParse({ type: "json_schema", json_schema: { name: "r", schema: { type: "object" }, strict: true } }).success).toBe(true);
  expect(ResponseFormat.safeParse({ type: "json_schema" }).success).toBe(false);
  const call = { id: "c1", type: "function", function: { name: "f", arguments: "{}" } };
  expect(AgentChatMessage.safeParse({ role: "assistant", content: null, tool_calls: [call] }).success).toBe(true);
  expect(AgentChatMessage.safeParse({ role: "assistant", content: null }).success).toBe(false);
  expect(AgentChatMessage.safeParse({ role: "tool", tool_call_id: "c1", content: "ok" }).success).toBe(true);
  expect(AgentChatMessage.safeParse({ role: "tool", content: "ok" }).success).toBe(false);
  // Every ChatMessage is an AgentChatMessage.
  const m = ChatMessage.parse({ role: "user", content: [{ type: "text", text: "hi" }] });
  expect(AgentChatMessage.parse(m)).toEqual(m);
});
