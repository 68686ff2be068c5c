import type { ModelEntry } from "@switchyard/contracts";
import { createProviderRegistry } from "./registry";

const entry = (over: Partial<ModelEntry>): ModelEntry => ({
  id: "m",
  provider: "simulated",
  upstream_model: "m",
  tier: "flash",
  capabilities: { vision: false, long_context: false },
  context_window: 1000,
  max_output_tokens: 100,
  pricing: { input: 1, output: 1, cached_input: 0 },
  ...over,
});

describe("createProviderRegistry", () => {
  it("serves every entry with the simulated provider when no provider is configured", async () => {
    const reg = createProviderRegistry({ simulatedRandom: () => 0.99 });
    for (const provider of ["simulated", "openai", "anthropic", "gemini"] as const) {
      const r = reg.forModel(entry({ provider, simulated: { ttft_ms: 0, tokens_per_second: 1e6, failure_rate: 0 } }));
      expect(r.simulated).toBe(true);
      expect(r.provider.name).toBe("simulated");
      const out = await r.provider.chat({ model: "m", messages: [{ role: "user", content: "hi" }] });
      expect(out.usage?.outputTokens).toBeGreaterThan(0);
    }
    await reg.close();
  });

  it("uses the entry's simulated behaviour, with the injected random", async () => {
    const reg = createProviderRegistry({ simulatedRandom: () => 0 });
    const failing = reg.forModel(entry({ simulated: { ttft_ms: 0, tokens_per_second: 1e6, failure_rate: 0.5 } }));
    await expect(failing.provider.chat({ model: "m", messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({
      kind: "server_error",
      status: 503,
    });
    const healthy = reg.forModel(entry({ simulated: { ttft_ms: 0, tokens_per_second: 1e6, failure_rate: 0 } }));
    await expect(healthy.provider.chat({ model: "m", messages: [{ role: "user", content: "hi" }] })).resolves.toMatchObject({ finishReason: "stop" });
  });

  it("bounds a simulated entry's answers by its max_output_tokens, one provider per cap", async () => {
    const reg = createProviderRegistry();
    const fast = { ttft_ms: 0, tokens_per_second: 1e6, failure_rate: 0 };
    const ask = { model: "m", messages: [{ role: "user" as const, content: "hi" }], maxTokens: 500 };
    const small = await reg.forModel(entry({ id: "small", simulated: fast })).provider.chat(ask);
    const large = await reg.forModel(entry({ id: "large", simulated: fast, max_output_tokens: 1000 })).provider.chat(ask);
    expect([small.usage?.outputTokens, small.finishReason]).toEqual([100, "length"]);
    expect([large.usage?.outputTokens, large.finishReason]).toEqual([500, "length"]);
  });

  it("creates the OpenAI provider once when a key is configured, and not for an empty key", async () => {
    const reg = createProviderRegistry({ openai: { baseUrl: "http://127.0.0.1:9/v1", apiKey: "sk-test" } });
    const a = reg.forModel(entry({ provider: "openai", id: "gpt-4o-mini" }));
    const b = reg.forModel(entry({ provider: "openai", id: "gpt-4.1" }));
    expect(a.simulated).toBe(false);
    expect(a.provider.name).toBe("openai");
    expect(b.provider).toBe(a.provider);
    expect(reg.forModel(entry({ provider: "simulated" })).simulated).toBe(true);
    await reg.close();
    const noKey = createProviderRegistry({ openai: { baseUrl: "http://127.0.0.1:9/v1", apiKey: "" } });
    expect(noKey.forModel(entry({ provider: "openai" })).simulated).toBe(true);
  });

  it("creates the Anthropic and Gemini providers once each when keyed, simulated without a key", async () => {
    const reg = createProviderRegistry({
      anthropic: { baseUrl: "http://127.0.0.1:9", apiKey: "sk-ant-test" },
      gemini: { baseUrl: "http://127.0.0.1:9", apiKey: "AIza-test" },
    });
    const haiku = reg.forModel(entry({ provider: "anthropic", id: "claude-haiku-4-5" }));
    const sonnet = reg.forModel(entry({ provider: "anthropic", id: "claude-sonnet-4-5" }));
    const flash = reg.forModel(entry({ provider: "gemini", id: "gemini-2.5-flash" }));
    expect([haiku.simulated, haiku.provider.name, flash.simulated, flash.provider.name]).toEqual([false, "anthropic", false, "gemini"]);
    expect(sonnet.provider).toBe(haiku.provider);
    expect(reg.forModel(entry({ provider: "gemini", id: "gemini-2.5-pro" })).provider).toBe(flash.provider);
    // Only the providers that have keys are real; openai has no options here.
    expect(reg.forModel(entry({ provider: "openai" })).simulated).toBe(true);
    await reg.close();
    const noKeys = createProviderRegistry({ anthropic: { apiKey: "" }, gemini: { apiKey: "  " } });
    expect(noKeys.forModel(entry({ provider: "anthropic" })).simulated).toBe(true);
    expect(noKeys.forModel(entry({ provider: "gemini" })).simulated).toBe(true);
    await noKeys.close();
  });
});
