import type { ChatMessage } from "@switchyard/contracts";
import { countInputTokens } from "./token-count";
import { TokenCountPool } from "./token-count-pool";

const user = (content: string): ChatMessage => ({ role: "user", content });

describe("TokenCountPool", () => {
  let pool: TokenCountPool;
  afterEach(async () => pool?.close());

  it("counts small requests in place and large ones on a thread, with the same result", async () => {
    pool = new TokenCountPool({ threads: 1, inlineBytes: 64 });
    const small = [user("hello world")];
    const large = [user("x".repeat(50_000)), user("The quick brown fox. ".repeat(500))];
    expect(await pool.count(small)).toBe(countInputTokens(small));
    const pending = pool.count(large);
    expect(pool.pendingBytes).toBe(50_000 + 21 * 500);
    expect(await pending).toBe(countInputTokens(large));
    expect(pool.pendingBytes).toBe(0);
  });

  it("refuses more than maxPendingBytes of queued text instead of queueing without end", async () => {
    pool = new TokenCountPool({ threads: 1, inlineBytes: 0, maxPendingBytes: 150_000 });
    const big = [user("z".repeat(100_000))];
    const first = pool.count(big);
    await expect(pool.count(big)).rejects.toMatchObject({ name: "TokenCountBusyError", code: "token_count_busy" });
    expect(await first).toBe(countInputTokens(big));
    expect(await pool.count(big)).toBe(countInputTokens(big));
  });
});

describe("TokenCountPool with agent requests", () => {
  let pool: TokenCountPool;
  afterEach(async () => pool?.close());

  it("counts tools and tool calls on a thread exactly as inline", async () => {
    pool = new TokenCountPool({ threads: 1, inlineBytes: 0 });
    const tools = [
      {
        type: "function" as const,
        function: { name: "f", parameters: { type: "object", properties: { q: { type: "string", description: "d".repeat(3000) } } } },
      },
    ];
    const messages = [
      { role: "user" as const, content: "hi" },
      {
        role: "assistant" as const,
        content: null,
        tool_calls: [{ id: "c1", type: "function" as const, function: { name: "f", arguments: JSON.stringify({ q: "x ".repeat(2000) }) } }],
      },
      { role: "tool" as const, tool_call_id: "c1", content: "result ".repeat(500) },
    ];
    expect(await pool.count(messages, { tools })).toBe(countInputTokens(messages, { tools }));
    expect(countInputTokens(messages, { tools })).toBeGreaterThan(countInputTokens(messages) + 3000 / 8);
  });
});
