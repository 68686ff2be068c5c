import type { SseEvent } from "../http/sse";
import { interpretEvent } from "./stream";

const chunk = (choice: Record<string, unknown>): SseEvent => ({
  event: "message",
  data: JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, finish_reason: null, ...choice }] }),
});
const token = (t: string) => ({ token: t, logprob: -0.1, bytes: [...Buffer.from(t)], top_logprobs: [] });

describe("interpretEvent (OpenAI stream chunks)", () => {
  it("keeps a token's logprobs when its chunk carries no text (part of a multi-byte character)", () => {
    const out = interpretEvent("openai", chunk({ delta: { content: "" }, logprobs: { content: [token("\\xf0\\x9f")], refusal: null } }));
    expect(out).toEqual([{ type: "delta", text: "", logprobs: [expect.objectContaining({ token: "\\xf0\\x9f", logprob: -0.1 })] }]);
  });

  it("emits nothing for the role chunk, with or without an empty logprobs list", () => {
    expect(interpretEvent("openai", chunk({ delta: { role: "assistant", content: "" }, logprobs: { content: [], refusal: null } }))).toEqual([]);
    expect(interpretEvent("openai", chunk({ delta: { role: "assistant", content: "" }, logprobs: null }))).toEqual([]);
  });
});
