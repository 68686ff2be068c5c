/**
 * What each wire format looks like for tool calls, for the conformance suite: the requests the
 * suite sends, how each adapter must put them on the wire (provider-wire-formats.md; OpenAI's
 * `tools`/`tool_calls`, Anthropic's `tool_use`/`tool_result` blocks, Gemini's
 * `functionDeclarations`/`functionCall`/`functionResponse` parts) and what each refuses.
 */
import type { AgentChatMessage, ModelEntry, ToolDefinition } from "@switchyard/contracts";
import type { FakeToolReply } from "@switchyard/testkit";
import type { ChatRequest, TextChatRequest } from "./types";

type Body = Record<string, unknown>;

export const TOOLS: ToolDefinition[] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Current weather for a city",
      parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } }, required: ["city"] },
    },
  },
  { type: "function", function: { name: "get_time", parameters: { type: "object", properties: { timezone: { type: "string" } }, required: ["timezone"] } } },
];

const WEATHER_ARGS = '{"city":"Paris","unit":"celsius"}';
const TIME_ARGS = '{"timezone":"Europe/Paris"}';

/** The fakes' scripted answer: some text, then two parallel calls. */
export const TOOL_REPLY: FakeToolReply = {
  text: "Checking both.",
  calls: [
    { id: "toolu_w1", name: "get_weather", arguments: WEATHER_ARGS },
    { id: "toolu_t2", name: "get_time", arguments: TIME_ARGS },
  ],
};

/** The calls of TOOL_REPLY as the suite expects to read them back (arguments compared as JSON). */
export const EXPECTED_CALLS = [
  { id: "toolu_w1", name: "get_weather", args: { city: "Paris", unit: "celsius" } },
  { id: "toolu_t2", name: "get_time", args: { timezone: "Europe/Paris" } },
];

/** The fakes answer tool calls until the conversation ends with tool results. */
export function toolReplyUnlessAnswered(rec: { body: unknown }): FakeToolReply | undefined {
  const b = (rec.body ?? {}) as { messages?: unknown[]; contents?: unknown[] };
  const last = JSON.stringify((b.messages ?? b.contents ?? []).at(-1) ?? null);
  return /"tool_result"|"functionResponse"|"role":"tool"/.test(last) ? undefined : TOOL_REPLY;
}

/** A turn that hands both results back: one JSON object, one plain text. */
export const FOLLOW_UP: AgentChatMessage[] = [
  { role: "system", content: "You are terse." },
  { role: "user", content: "Weather and time in Paris?" },
  {
    role: "assistant",
    content: "Checking both.",
    tool_calls: [
      { id: "call_w1", type: "function", function: { name: "get_weather", arguments: WEATHER_ARGS } },
      { id: "call_t2", type: "function", function: { name: "get_time", arguments: TIME_ARGS } },
    ],
  },
  { role: "tool", tool_call_id: "call_w1", content: '{"temp_c":21}' },
  { role: "tool", tool_call_id: "call_t2", content: "14:05" },
];

const JSON_SCHEMA = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"], additionalProperties: false };

/** Every agent field at once, for the unsupported-fields checks. */
export const EVERY_FIELD: ChatRequest = {
  model: "m",
  messages: [{ role: "user", content: "x" }],
  tools: [{ type: "function", function: { ...TOOLS[0]!.function, strict: true } }],
  toolChoice: "required",
  parallelToolCalls: false,
  stop: ["END"],
  seed: 7,
  responseFormat: { type: "json_schema", json_schema: { name: "answer", schema: JSON_SCHEMA, strict: true } },
  presencePenalty: 0.5,
  frequencyPenalty: 0.25,
  logprobs: true,
  topLogprobs: 2,
};

export function entryFor(provider: ModelEntry["provider"], caps: { tools: boolean; json_schema: boolean }): ModelEntry {
  return {
    id: "m",
    provider,
    upstream_model: "m",
    tier: "flash",
    capabilities: { vision: false, long_context: false, ...caps },
    context_window: 100_000,
    max_output_tokens: 1000,
    pricing: { input: 1, output: 1, cached_input: 0 },
  };
}

type Choice = "auto" | "none" | "required" | "named";

export interface ToolWire {
  /** The tool declarations as the adapter sent them, and what they must be for TOOLS. */
  tools(body: Body): unknown;
  expectedTools: unknown;
  /** The tool choice as sent (undefined when left out), per choice asked for ("named" = get_weather). */
  choice(body: Body): unknown;
  expectedChoice: Record<Choice, unknown>;
  /** The conversation as sent, and what it must be for FOLLOW_UP. */
  conversation(body: Body): unknown;
  expectedFollowUp: unknown;
  /** Stop sequences, seed, penalties and response format: a request with those the provider can honour, and how they must be sent. */
  optionsRequest: Partial<TextChatRequest>;
  options(body: Body): unknown;
  expectedOptions: unknown;
  /** A field the adapter refuses at call time (bad_request naming it), or null when it refuses none. */
  refused: { extra: Partial<TextChatRequest>; field: string } | null;
  /** Tool arguments stream in several pieces (OpenAI, Anthropic) or whole (Gemini). */
  fragmented: boolean;
  /** Call ids come from the wire (OpenAI, Anthropic) or are made by the adapter (Gemini). */
  idsFromWire: boolean;
  /** unsupportedFields(EVERY_FIELD) for a model whose catalog entry has every capability. */
  unsupported: string[];
}

const named = { type: "function", function: { name: "get_weather" } } as const;
export const CHOICES: Record<Choice, ChatRequest["toolChoice"]> = { auto: "auto", none: "none", required: "required", named };

export const TOOL_WIRES: Record<"openai" | "anthropic" | "gemini", ToolWire> = {
  openai: {
    tools: (b) => b.tools,
    expectedTools: TOOLS,
    choice: (b) => b.tool_choice,
    expectedChoice: { auto: "auto", none: "none", required: "required", named },
    conversation: (b) => b.messages,
    // Our message shapes are OpenAI's: the turn goes on the wire as it is.
    expectedFollowUp: FOLLOW_UP,
    optionsRequest: {
      stop: ["END"],
      seed: 7,
      presencePenalty: 0.5,
      frequencyPenalty: 0.25,
      responseFormat: { type: "json_schema", json_schema: { name: "answer", schema: JSON_SCHEMA, strict: true } },
    },
    options: (b) => ({
      stop: b.stop,
      seed: b.seed,
      presence_penalty: b.presence_penalty,
      frequency_penalty: b.frequency_penalty,
      response_format: b.response_format,
    }),
    expectedOptions: {
      stop: ["END"],
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
      response_format: { type: "json_schema", json_schema: { name: "answer", schema: JSON_SCHEMA, strict: true } },
    },
    refused: null,
    fragmented: true,
    idsFromWire: true,
    unsupported: [],
  },
  anthropic: {
    tools: (b) => b.tools,
    expectedTools: [
      { name: "get_weather", description: "Current weather for a city", input_schema: TOOLS[0]!.function.parameters },
      { name: "get_time", input_schema: TOOLS[1]!.function.parameters },
    ],
    choice: (b) => b.tool_choice,
    expectedChoice: { auto: { type: "auto" }, none: { type: "none" }, required: { type: "any" }, named: { type: "tool", name: "get_weather" } },
    conversation: (b) => ({ system: b.system, messages: b.messages }),
    expectedFollowUp: {
      system: "You are terse.",
      messages: [
        { role: "user", content: "Weather and time in Paris?" },
        {
          role: "assistant",
          content: [
            { type: "text", text: "Checking both." },
            { type: "tool_use", id: "call_w1", name: "get_weather", input: { city: "Paris", unit: "celsius" } },
            { type: "tool_use", id: "call_t2", name: "get_time", input: { timezone: "Europe/Paris" } },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "call_w1", content: '{"temp_c":21}' },
            { type: "tool_result", tool_use_id: "call_t2", content: "14:05" },
          ],
        },
      ],
    },
    optionsRequest: { stop: ["END"], responseFormat: { type: "text" } },
    options: (b) => ({ stop_sequences: b.stop_sequences }),
    expectedOptions: { stop_sequences: ["END"] },
    refused: { extra: { seed: 7 }, field: "seed" },
    fragmented: true,
    idsFromWire: true,
    unsupported: ["seed", "presence_penalty", "frequency_penalty", "logprobs", "top_logprobs", "response_format", "tools.0.function.strict"],
  },
  gemini: {
    tools: (b) => b.tools,
    expectedTools: [
      {
        functionDeclarations: [
          { name: "get_weather", description: "Current weather for a city", parametersJsonSchema: TOOLS[0]!.function.parameters },
          { name: "get_time", parametersJsonSchema: TOOLS[1]!.function.parameters },
        ],
      },
    ],
    choice: (b) => (b.toolConfig as { functionCallingConfig?: unknown } | undefined)?.functionCallingConfig,
    expectedChoice: {
      auto: { mode: "AUTO" },
      none: { mode: "NONE" },
      required: { mode: "ANY" },
      named: { mode: "ANY", allowedFunctionNames: ["get_weather"] },
    },
    conversation: (b) => ({ systemInstruction: b.systemInstruction, contents: b.contents }),
    expectedFollowUp: {
      systemInstruction: { parts: [{ text: "You are terse." }] },
      contents: [
        { role: "user", parts: [{ text: "Weather and time in Paris?" }] },
        {
          role: "model",
          parts: [
            { text: "Checking both." },
            { functionCall: { name: "get_weather", args: { city: "Paris", unit: "celsius" } } },
            { functionCall: { name: "get_time", args: { timezone: "Europe/Paris" } } },
          ],
        },
        {
          role: "user",
          parts: [
            { functionResponse: { name: "get_weather", response: { temp_c: 21 } } },
            { functionResponse: { name: "get_time", response: { result: "14:05" } } },
          ],
        },
      ],
    },
    optionsRequest: {
      stop: ["END"],
      seed: 7,
      presencePenalty: 0.5,
      frequencyPenalty: 0.25,
      responseFormat: { type: "json_schema", json_schema: { name: "answer", schema: JSON_SCHEMA, strict: true } },
    },
    options: (b) => b.generationConfig,
    expectedOptions: {
      stopSequences: ["END"],
      seed: 7,
      presencePenalty: 0.5,
      frequencyPenalty: 0.25,
      responseMimeType: "application/json",
      responseJsonSchema: JSON_SCHEMA,
    },
    refused: { extra: { logprobs: true }, field: "logprobs" },
    fragmented: false,
    idsFromWire: false,
    unsupported: ["logprobs", "top_logprobs", "parallel_tool_calls", "tools.0.function.strict"],
  },
};
