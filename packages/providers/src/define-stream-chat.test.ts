import { defineStreamChat } from "./define-stream-chat";
import { isProviderError, type ChatChunk, type ChatRequest } from "./types";

async function* answer(): AsyncGenerator<ChatChunk> {
  yield { type: "delta", text: "Hi" };
  yield { type: "tool_call", index: 0, id: "c1", name: "f", argumentsDelta: "{}" };
  yield { type: "finish", finishReason: "tool_calls" };
}

describe("defineStreamChat", () => {
  const streamChat = defineStreamChat("p", (_req: ChatRequest) => answer());
  const tools = [{ type: "function" as const, function: { name: "f" } }];

  it("hands tool-call chunks on for a request that declares tools", async () => {
    const out: ChatChunk[] = [];
    for await (const c of streamChat({ model: "m", messages: [], tools })) out.push(c);
    expect(out.map((c) => c.type)).toEqual(["delta", "tool_call", "finish"]);
  });

  it("fails a request without tools whose answer calls one (malformed), after the text before it", async () => {
    const seen: string[] = [];
    let error: unknown;
    try {
      for await (const c of streamChat({ model: "m", messages: [] })) seen.push(c.type);
    } catch (err) {
      error = err;
    }
    expect(seen).toEqual(["delta"]);
    expect(isProviderError(error) && error.kind).toBe("malformed");
  });
});
