import type { ChatMessage } from "@switchyard/contracts";
import { countInputTokens } from "./token-count";
import { checkTokensPerRequestFloor, inputTokensFloor } from "./token-count-floor";

const user = (content: ChatMessage["content"]): ChatMessage => ({ role: "user", content });

describe("inputTokensFloor", () => {
  it("never exceeds the exact count, and is exact on framing and images", () => {
    const chats: ChatMessage[][] = [
      [user("hello world")],
      [{ role: "system", content: "Be brief." }, user("x".repeat(5000)), { role: "assistant", content: " ".repeat(1000) }],
      [
        user([
          { type: "text", text: "look" },
          { type: "image_url", image_url: { url: "https://e.com/a.png", detail: "low" } },
          { type: "image_url", image_url: { url: "https://e.com/b.png" } },
        ]),
      ],
      [user("😀".repeat(3000)), user("-".repeat(4000)), user("中文".repeat(2000))],
      [user(" ".repeat(128 * 40))],
    ];
    for (const chat of chats) expect(inputTokensFloor(chat).tokens).toBeLessThanOrEqual(countInputTokens(chat));
    // 128 spaces is one token: the floor is tight there.
    const spaces = [user(" ".repeat(128 * 40))];
    expect(inputTokensFloor(spaces).tokens).toBe(countInputTokens(spaces));
  });
});

describe("checkTokensPerRequestFloor", () => {
  it("lets through anything that could fit, so the exact count decides", () => {
    const fits = [user("x".repeat(128 * 900))]; // floor 3 + 1 + 900 + 3 = 907
    expect(checkTokensPerRequestFloor(fits, 93, 1000).ok).toBe(true);
  });

  it("refuses text that cannot fit, naming the limit, the field and the message", () => {
    const msgs = [user("hi"), user("x".repeat(900_000))];
    const v = checkTokensPerRequestFloor(msgs, 100, 4000);
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.reason).toBe("tokens_per_request");
    expect(v.param).toBe("messages[1]");
    expect(v.message).toMatch(/tokens_per_request/);
    expect(v.message).toMatch(/limit of 4000 tokens per request/);
    expect(v.message).toMatch(/^messages\[1\]: /);
    // What it claims is true: the exact count is at least the floor it states.
    expect(v.floor.tokens).toBe(3 + (3 + 1 + 1) + (3 + 1 + Math.ceil(900_000 / 128)));
  });

  it("names `messages` when only the messages together are over", () => {
    const msgs = Array.from({ length: 10 }, () => user("y".repeat(128 * 100)));
    const v = checkTokensPerRequestFloor(msgs, 0, 1000);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.param).toBe("messages");
  });
});
