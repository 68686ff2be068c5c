import { contentText, type ModelEntry, type ToolCall } from "@switchyard/contracts";
import { capabilityGaps } from "../capabilities";
import type { ChatRequest, ToolChatRequest } from "../types";
import { hashString } from "./text";

const WORDS = ["alpha", "bravo", "delta", "echo", "kilo", "lima", "oscar", "sierra", "tango", "zulu"];
const MAX_DEPTH = 16;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stringFor(schema: Record<string, unknown>, seed: number): string {
  switch (schema.format) {
    case "date":
      return "2026-01-15";
    case "date-time":
      return "2026-01-15T12:00:00Z";
    case "email":
      return "sim@example.com";
    case "uri":
    case "url":
      return "https://example.com/sim";
    case "uuid":
      return "00000000-0000-4000-8000-000000000000";
  }
  let s = WORDS[seed % WORDS.length] ?? "alpha";
  const min = typeof schema.minLength === "number" ? schema.minLength : 0;
  while (s.length < min) s += s;
  return typeof schema.maxLength === "number" ? s.slice(0, Math.max(schema.maxLength, min)) : s;
}

/**
 * A value that satisfies a JSON Schema, the same every time for the same schema and seed text:
 * `const`/`enum` take their first value, `anyOf`/`oneOf` their first branch, objects get their
 * required properties (all of them when none are listed), strings a short word (or a value of
 * their `format`), numbers their minimum (else 1), arrays `minItems` items (at least one).
 * `$ref` is not followed (an empty object stands in).
 */
export function valueForSchema(schema: unknown, seedText: string, depth = 0): unknown {
  if (!isRecord(schema) || depth > MAX_DEPTH) return {};
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  for (const key of ["anyOf", "oneOf"] as const) {
    const branches = schema[key];
    if (Array.isArray(branches) && branches.length > 0) return valueForSchema(branches[0], seedText, depth + 1);
  }
  const types: unknown[] = Array.isArray(schema.type) ? schema.type : [schema.type];
  const type = types.find((t) => t !== "null") ?? types[0] ?? (isRecord(schema.properties) ? "object" : undefined);
  const seed = hashString(seedText);
  switch (type) {
    case "object": {
      const props = isRecord(schema.properties) ? schema.properties : {};
      const wanted = Array.isArray(schema.required) ? schema.required.filter((k): k is string => typeof k === "string") : Object.keys(props);
      const out: Record<string, unknown> = {};
      for (const key of wanted) out[key] = valueForSchema(props[key] ?? { type: "string" }, `${seedText}.${key}`, depth + 1);
      return out;
    }
    case "array": {
      const n = Math.max(1, typeof schema.minItems === "number" ? schema.minItems : 1);
      return Array.from({ length: n }, (_, i) => valueForSchema(schema.items ?? { type: "string" }, `${seedText}[${i}]`, depth + 1));
    }
    case "string":
      return stringFor(schema, seed);
    case "integer":
      return typeof schema.minimum === "number" ? Math.ceil(schema.minimum) : 1;
    case "number":
      return typeof schema.minimum === "number" ? schema.minimum : 1;
    case "boolean":
      return true;
    case "null":
      return null;
    default:
      return {};
  }
}

/**
 * The call the simulated model makes, or null when it answers in text: with tools declared and
 * `tool_choice` not `none`, unless the conversation ends with a tool result, it calls the named
 * function (or the first one) with arguments made from its parameters' schema.
 */
export function simulatedToolCall(req: ToolChatRequest): ToolCall | null {
  if (req.toolChoice === "none" || req.messages.at(-1)?.role === "tool") return null;
  const named = typeof req.toolChoice === "object" ? req.toolChoice.function.name : undefined;
  const tool = named === undefined ? req.tools[0] : req.tools.find((t) => t.function.name === named);
  if (!tool) return null;
  const last = req.messages.at(-1);
  const seedText = `${req.model}\u0000${tool.function.name}\u0000${last ? contentText(last.content) : ""}`;
  const args = tool.function.parameters === undefined ? {} : valueForSchema(tool.function.parameters, seedText);
  const id = `call_sim_${hashString(seedText).toString(36)}`;
  return { id, type: "function", function: { name: tool.function.name, arguments: JSON.stringify(args) } };
}

/** Splits text into stream pieces of `size` characters (the last may be shorter). */
export function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/**
 * What the simulated provider cannot honour: `logprobs`/`top_logprobs` (it has no token
 * probabilities). Stop sequences cut its text, a seed changes nothing (it is deterministic
 * already), JSON formats shape its answer, and penalties, like temperature, are sampling knobs
 * of a model that does not sample.
 */
export function simulatedRefusals(req: ChatRequest): string[] {
  const out: string[] = [];
  if (req.logprobs === true) out.push("logprobs");
  if (req.topLogprobs !== undefined) out.push("top_logprobs");
  return out;
}

/** What a catalog model served by the simulated provider cannot honour: its capability gaps, then `simulatedRefusals`. */
export function simulatedUnsupportedFields(req: ChatRequest, entry: ModelEntry): string[] {
  return [...capabilityGaps(req, entry), ...simulatedRefusals(req)];
}
