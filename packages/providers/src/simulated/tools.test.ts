import type { ChatChunk, ToolChatRequest } from "../types";
import { createSimulatedProvider } from "./chat";
import { valueForSchema } from "./tools";

const fast = { ttft_ms: 0, tokens_per_second: 1_000_000, failure_rate: 0 };
const weather = {
  type: "function" as const,
  function: {
    name: "get_weather",
    parameters: {
      type: "object",
      properties: {
        city: { type: "string" },
        days: { type: "integer", minimum: 3 },
        unit: { type: "string", enum: ["celsius", "fahrenheit"] },
        note: { type: "string" },
      },
      required: ["city", "days", "unit"],
    },
  },
};
const time = {
  type: "function" as const,
  function: { name: "get_time", parameters: { type: "object", properties: { tz: { type: "string", format: "date" } }, required: ["tz"] } },
};
const req = (extra: Partial<ToolChatRequest> = {}): ToolChatRequest => ({
  model: "sim-flash",
  messages: [{ role: "user", content: "Weather in Paris?" }],
  tools: [weather, time],
  ...extra,
});

async function collect(it: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const out: ChatChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

describe("simulated provider with tools", () => {
  const p = createSimulatedProvider(fast);

  it("calls the first tool with arguments made from its schema, the same every time", async () => {
    const a = await p.chat(req());
    expect(a.finishReason).toBe("tool_calls");
    expect(a.text).toBe("");
    expect(a.toolCalls).toHaveLength(1);
    const call = a.toolCalls![0]!;
    expect(call.function.name).toBe("get_weather");
    const args = JSON.parse(call.function.arguments) as Record<string, unknown>;
    // Required properties only: a short string, the minimum, the first enum value.
    expect(Object.keys(args).sort()).toEqual(["city", "days", "unit"]);
    expect(args).toMatchObject({ days: 3, unit: "celsius" });
    expect(typeof args.city).toBe("string");
    expect(await createSimulatedProvider(fast).chat(req())).toEqual(a);
  });

  it("streams the call in pieces: id and name first, arguments joined, finish tool_calls, usage counting pieces", async () => {
    const chunks = await collect(p.streamChat(req()));
    const pieces = chunks.filter((c) => c.type === "tool_call");
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces[0]).toMatchObject({ index: 0, name: "get_weather", id: expect.stringMatching(/^call_sim_/) });
    expect(pieces.slice(1).every((c) => c.type === "tool_call" && c.index === 0 && c.id === undefined && c.name === undefined)).toBe(true);
    const joined = pieces.map((c) => (c.type === "tool_call" ? c.argumentsDelta : "")).join("");
    expect(joined).toBe((await p.chat(req())).toolCalls![0]!.function.arguments);
    expect(chunks.slice(-2)).toEqual([
      { type: "finish", finishReason: "tool_calls" },
      { type: "usage", usage: expect.objectContaining({ outputTokens: pieces.length }) },
    ]);
  });

  it("calls the named tool, and answers in text with tool_choice none or after a tool result", async () => {
    const named = await p.chat(req({ toolChoice: { type: "function", function: { name: "get_time" } } }));
    expect(named.toolCalls?.[0]?.function.name).toBe("get_time");
    expect(JSON.parse(named.toolCalls![0]!.function.arguments)).toEqual({ tz: "2026-01-15" });
    const none = await p.chat(req({ toolChoice: "none" }));
    expect([none.finishReason, none.toolCalls, none.text.length > 0]).toEqual(["stop", undefined, true]);
    const call = named.toolCalls![0]!;
    const after = await p.chat(
      req({
        messages: [
          { role: "user", content: "Time?" },
          { role: "assistant", content: null, tool_calls: [call] },
          { role: "tool", tool_call_id: call.id, content: "12:00" },
        ],
      }),
    );
    expect([after.finishReason, after.toolCalls]).toEqual(["stop", undefined]);
    expect(after.text).toMatch(/\.$/);
  });

  it("answers JSON that fits a json_schema response format, and cuts text at a stop sequence", async () => {
    const schema = {
      type: "object",
      properties: { title: { type: "string" }, tags: { type: "array", items: { type: "string" }, minItems: 2 }, ok: { type: "boolean" } },
      required: ["title", "tags", "ok"],
    };
    const json = await p.chat({
      model: "sim-flash",
      messages: [{ role: "user", content: "x" }],
      responseFormat: { type: "json_schema", json_schema: { name: "r", schema } },
    });
    const value = JSON.parse(json.text) as { title: unknown; tags: unknown[]; ok: unknown };
    expect([typeof value.title, value.tags.length, value.ok]).toEqual(["string", 2, true]);
    const object = await p.chat({ model: "sim-flash", messages: [{ role: "user", content: "x" }], responseFormat: { type: "json_object" } });
    expect(Object.keys(JSON.parse(object.text) as object)).toEqual(["answer"]);
    const full = (await p.chat({ model: "sim-flash", messages: [{ role: "user", content: "stop me" }] })).text;
    const word = full.split(" ")[3]!;
    const cut = await p.chat({ model: "sim-flash", messages: [{ role: "user", content: "stop me" }], stop: [word] });
    expect(cut.text).toBe(full.slice(0, full.indexOf(word)));
    expect(cut.finishReason).toBe("stop");
  });

  it("refuses logprobs, which it cannot produce", async () => {
    await expect(p.chat({ model: "sim-flash", messages: [{ role: "user", content: "x" }], logprobs: true })).rejects.toMatchObject({
      kind: "bad_request",
      message: expect.stringContaining("logprobs"),
    });
  });

  it("valueForSchema follows anyOf, nullable types and nested objects", () => {
    expect(valueForSchema({ anyOf: [{ type: "integer", minimum: 5 }, { type: "string" }] }, "s")).toBe(5);
    expect(valueForSchema({ type: ["null", "number"] }, "s")).toBe(1);
    expect(valueForSchema({ type: "object", properties: { a: { type: "object", properties: { b: { const: "x" } } } } }, "s")).toEqual({ a: { b: "x" } });
  });
});
