import type { ChatMessage } from "@switchyard/contracts";
import { classifyRequest, type RequestComplexity, type RequestDomain } from "./classify";

const user = (content: string): ChatMessage => ({ role: "user", content });
const assistant = (content: string): ChatMessage => ({ role: "assistant", content });
const system = (content: string): ChatMessage => ({ role: "system", content });

const TS_SNIPPET = "```ts\nexport function sum(xs: number[]): number {\n  return xs.reduce((a, b) => a + b, 0);\n}\n```";
const NODE_TRACE = [
  "TypeError: Cannot read properties of undefined (reading 'map')",
  "    at renderList (/app/src/list.js:14:22)",
  "    at Object.<anonymous> (/app/src/index.js:3:1)",
].join("\n");
const PY_TRACE = ["Traceback (most recent call last):", '  File "app.py", line 8, in <module>', "    main()", "KeyError: 'user_id'"].join("\n");
const LONG_DOC = "The quarterly report covers revenue, churn and hiring across regions. ".repeat(200);

const cases: Array<{ name: string; messages: ChatMessage[]; domain: RequestDomain; complexity: RequestComplexity; signals?: string[] }> = [
  { name: "greeting", messages: [user("Hi there!")], domain: "general", complexity: "simple" },
  { name: "trivia", messages: [user("What is the capital of Australia?")], domain: "general", complexity: "simple" },
  { name: "short recipe question", messages: [user("How long should I boil an egg for a runny yolk?")], domain: "general", complexity: "simple" },
  {
    name: "medication dosage question",
    messages: [user("What is the usual adult dosage of amoxicillin, and can it be taken with other medication?")],
    domain: "healthcare",
    complexity: "simple",
    signals: ["healthcare_terms:medication,dosage"],
  },
  {
    name: "clinical case with analysis",
    messages: [
      user(
        "A 64-year-old patient presents with chest pain and shortness of breath. Symptoms began 2 hours ago. Blood pressure 150/95. Give a differential diagnosis and analyze the next clinical steps, step by step.",
      ),
    ],
    domain: "healthcare",
    complexity: "moderate",
  },
  {
    name: "healthcare system prompt sets the domain",
    messages: [system("You are a clinical documentation assistant for hospital physicians."), user("Summarise this note in two sentences.")],
    domain: "healthcare",
    complexity: "simple",
  },
  {
    name: "short programming question",
    messages: [user("How do I reverse an array in JavaScript?")],
    domain: "tech",
    complexity: "simple",
    signals: ["tech_terms:language"],
  },
  {
    name: "code review with a code block",
    messages: [user(`Can you review this TypeScript function?\n${TS_SNIPPET}`)],
    domain: "tech",
    complexity: "moderate",
    signals: ["code_block"],
  },
  {
    name: "node stack trace, debug step by step",
    messages: [user(`My React app crashes with this stack trace, help me debug it step by step and explain why:\n${NODE_TRACE}`)],
    domain: "tech",
    complexity: "complex",
    signals: ["stack_trace", "multi_step:explain_why,step_by_step"],
  },
  {
    name: "python traceback alone",
    messages: [user(PY_TRACE)],
    domain: "tech",
    complexity: "moderate",
    signals: ["stack_trace"],
  },
  {
    name: "algebra",
    messages: [user("Solve for x: 3x + 7 = 22")],
    domain: "general",
    complexity: "moderate",
    signals: ["math"],
  },
  {
    name: "LaTeX derivation",
    messages: [user("Derive \\frac{d}{dx} \\int_0^x e^{t^2} dt and prove the result, then compare it with a numerical estimate.")],
    domain: "general",
    complexity: "complex",
    signals: ["math", "multi_step:compare,derive,prove"],
  },
  {
    name: "compare architectures with a numbered list of requirements",
    messages: [
      user(
        "Compare these two database designs for our API:\n1. one table per tenant\n2. a shared table with tenant_id\n3. a schema per tenant\nList the trade-offs.",
      ),
    ],
    domain: "tech",
    complexity: "complex",
    signals: ["list_items:3"],
  },
  {
    name: "long pasted document, short ask",
    messages: [user(`Summarise this:\n${LONG_DOC}`)],
    domain: "general",
    complexity: "moderate",
    signals: [`long_input:${Math.ceil(`Summarise this:\n${LONG_DOC}`.length / 4) + 4}`],
  },
  {
    name: "many turns of small talk",
    messages: [user("hi"), assistant("hello"), user("how are you"), assistant("fine"), user("nice"), assistant("yes"), user("what's up")],
    domain: "general",
    complexity: "moderate",
    signals: ["many_turns:7"],
  },
  {
    name: "dosage in mg is healthcare, not math",
    messages: [user("Is 500 mg of paracetamol every 6 hours safe?")],
    domain: "healthcare",
    complexity: "simple",
  },
  {
    name: "dates and versions are not math",
    messages: [user("We released version 2.1 on 2024-03-05; what changed since 1.9?")],
    domain: "general",
    complexity: "simple",
  },
];

describe("classifyRequest", () => {
  it.each(cases)("$name → $domain/$complexity", ({ messages, domain, complexity, signals }) => {
    const c = classifyRequest(messages);
    expect({ domain: c.domain, complexity: c.complexity }).toEqual({ domain, complexity });
    for (const s of signals ?? []) expect(c.signals).toContain(s);
    expect(c.needsVision).toBe(false);
  });

  it("is deterministic", () => {
    const messages = [user(`Compare and analyze:\n${TS_SNIPPET}\n${NODE_TRACE}`)];
    expect(classifyRequest(messages)).toEqual(classifyRequest(messages));
  });

  it("ignores code inside fences when counting math and cues", () => {
    const c = classifyRequest([user("What does this print?\n```py\nx = 2 + 3 * 4\nprint('compare and analyze step by step')\n```")]);
    expect(c.signals).not.toContain("math");
    expect(c.signals.some((s) => s.startsWith("multi_step"))).toBe(false);
    expect(c.signals).toContain("code_block");
  });

  it("estimates input tokens from text, messages and images", () => {
    const text = classifyRequest([user("x".repeat(400))]);
    expect(text.estimatedInputTokens).toBe(100 + 4);
    const withImages = classifyRequest([
      {
        role: "user",
        content: [
          { type: "text", text: "What is in these pictures?" },
          { type: "image_url", image_url: { url: "https://example.com/a.png" } },
          { type: "image_url", image_url: { url: "https://example.com/b.png", detail: "low" } },
        ],
      },
    ]);
    expect(withImages.needsVision).toBe(true);
    expect(withImages.signals).toContain("images:2");
    expect(withImages.estimatedInputTokens).toBe(Math.ceil("What is in these pictures?\n\n".length / 4) + 4 + 765 + 85);
  });

  it("reads assistant text for size but not for domain", () => {
    const c = classifyRequest([user("Tell me a joke"), assistant("A patient walks into a clinic with symptoms of a dosage problem…"), user("another one")]);
    expect(c.domain).toBe("general");
  });
});
