import type { ChatMessage } from "@switchyard/contracts";
import { encodeChat } from "gpt-tokenizer/encoding/o200k_base";
import { countInputTokens, estimateOutputTokens, IMAGE_TOKENS, LOW_DETAIL_IMAGE_TOKENS } from "./token-count";

const user = (content: ChatMessage["content"]): ChatMessage => ({ role: "user", content });
const image = (detail?: "low" | "high" | "auto") => ({ type: "image_url" as const, image_url: { url: "https://example.com/cat.png", ...(detail ? { detail } : {}) } });

describe("countInputTokens (o200k_base)", () => {
  it("counts 'hello world' as 2 tokens plus the chat framing", () => {
    // 3 framing + 1 ("user") + 2 ("hello", " world") + 3 reply priming
    expect(countInputTokens([user("hello world")])).toBe(9);
  });

  it("counts known o200k strings exactly", () => {
    // "Hello, world!" is 4 tokens; the pangram is 10.
    expect(countInputTokens([user("Hello, world!")])).toBe(3 + 1 + 4 + 3);
    expect(countInputTokens([user("The quick brown fox jumps over the lazy dog.")])).toBe(3 + 1 + 10 + 3);
    expect(countInputTokens([user("こんにちは世界")])).toBe(3 + 1 + 2 + 3);
  });

  it("matches gpt-tokenizer's own gpt-4o chat encoding for text conversations", () => {
    const chat: ChatMessage[] = [
      { role: "system", content: "You are a helpful assistant." },
      { role: "user", content: "What is the capital of France? Answer in one word." },
      { role: "assistant", content: "Paris." },
      { role: "user", content: "And of Italy?" },
    ];
    const reference = encodeChat(chat.map((m) => ({ role: m.role, content: m.content as string })), "gpt-4o").length;
    expect(countInputTokens(chat)).toBe(reference);
    expect(reference).toBe(3 + 4 * 4 + 6 + 12 + 2 + 4); // guards against both sides drifting together
  });

  it("counts text typed as special tokens as plain text instead of throwing", () => {
    expect(countInputTokens([user("a <|endoftext|> b")])).toBe(3 + 1 + 9 + 3);
  });

  it("adds each text part and a fixed estimate per image", () => {
    const parts = user([{ type: "text", text: "hello world" }, image(), image("high"), image("auto"), image("low")]);
    expect(countInputTokens([parts])).toBe(3 + 1 + 2 + 3 * IMAGE_TOKENS + LOW_DETAIL_IMAGE_TOKENS + 3);
    expect(IMAGE_TOKENS).toBe(765);
    expect(LOW_DETAIL_IMAGE_TOKENS).toBe(85);
  });

  it("grows with longer input", () => {
    const long = "lorem ipsum dolor sit amet ".repeat(200);
    expect(countInputTokens([user(long)])).toBeGreaterThan(countInputTokens([user("lorem ipsum")]) + 900);
  });
});

describe("estimateOutputTokens", () => {
  it("uses max_tokens when the request sets it", () => {
    expect(estimateOutputTokens(50, 8192)).toBe(50);
    expect(estimateOutputTokens(4000, 8192)).toBe(4000);
  });

  it("otherwise caps at 1024 or the model's own output limit, whichever is lower", () => {
    expect(estimateOutputTokens(undefined, 8192)).toBe(1024);
    expect(estimateOutputTokens(undefined, 512)).toBe(512);
    expect(estimateOutputTokens(undefined, 8192, 2048)).toBe(2048);
  });
});
