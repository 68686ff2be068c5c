import type { ChatMessage } from "@switchyard/contracts";
import { encodeChat } from "gpt-tokenizer/encoding/o200k_base";
import { countO200kTokens } from "@switchyard/tokenizer";
import { countInputTokens, estimateOutputTokens, IMAGE_TOKENS, LOW_DETAIL_IMAGE_TOKENS } from "./token-count";
import { inputTokensFloor } from "./token-count-floor";
import { messageTextBytes } from "./token-count-pool";

const user = (content: ChatMessage["content"]): ChatMessage => ({ role: "user", content });
const image = (detail?: "low" | "high" | "auto") => ({
  type: "image_url" as const,
  image_url: { url: "https://example.com/cat.png", ...(detail ? { detail } : {}) },
});

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
    const reference = encodeChat(
      chat.map((m) => ({ role: m.role, content: m.content as string })),
      "gpt-4o",
    ).length;
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

describe("agent requests", () => {
  const weather = {
    type: "function" as const,
    function: {
      name: "get_weather",
      description: "Current weather of a city",
      parameters: { type: "object", properties: { city: { type: "string", description: "City name" } }, required: ["city"] },
    },
  };
  const call = { id: "call_1", type: "function" as const, function: { name: "get_weather", arguments: JSON.stringify({ city: "Paris ".repeat(50) }) } };
  const turns = [
    { role: "user" as const, content: "weather?" },
    { role: "assistant" as const, content: null, tool_calls: [call] },
    { role: "tool" as const, tool_call_id: "call_1", content: "sunny and warm ".repeat(40) },
  ];

  it("counts tool calls' arguments and tool results with the tokenizer", () => {
    const plain = countInputTokens([turns[0]!]);
    const withCall = countInputTokens(turns.slice(0, 2));
    expect(withCall - plain).toBeGreaterThanOrEqual(countO200kTokens(call.function.arguments) + countO200kTokens("get_weather"));
    expect(countInputTokens(turns) - withCall).toBeGreaterThanOrEqual(countO200kTokens("sunny and warm ".repeat(40)));
  });

  it("reserves for the declared tools' schemas and a json_schema format", () => {
    const base = countInputTokens([turns[0]!]);
    const withTools = countInputTokens([turns[0]!], { tools: [weather] });
    expect(withTools - base).toBeGreaterThanOrEqual(countO200kTokens(JSON.stringify(weather.function)));
    expect(countInputTokens([turns[0]!], { tools: [weather, { ...weather, function: { ...weather.function, name: "other" } }] })).toBeGreaterThan(withTools);
    const schema = { type: "object", properties: { answer: { type: "string", description: "x ".repeat(100) } } };
    expect(countInputTokens([turns[0]!], { response_format: { type: "json_schema", json_schema: { name: "r", schema } } }) - base).toBeGreaterThanOrEqual(
      countO200kTokens(JSON.stringify(schema)),
    );
  });

  it("the byte floor stays below the exact count for agent requests", () => {
    const extras = { tools: [weather] };
    expect(inputTokensFloor(turns, extras).tokens).toBeLessThanOrEqual(countInputTokens(turns, extras));
    expect(inputTokensFloor(turns, extras).tokens).toBeGreaterThan(inputTokensFloor(turns).tokens);
    expect(messageTextBytes(turns, extras)).toBeGreaterThan(messageTextBytes(turns) + JSON.stringify(weather.function).length - 1);
  });
});
