import { queueCatalog, type QueueName, type QueuePayload } from "@switchyard/contracts";
import { isDeepStrictEqual } from "node:util";
import { z } from "zod";

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * `value` without the object fields (at any depth of nested objects, not in arrays) that hold
 * their schema's default. zod's classes answer `instanceof` by trait, so this holds for a schema
 * built by another copy of zod too.
 */
function withoutDefaults(schema: z.core.$ZodType, value: unknown): unknown {
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodOptional || schema instanceof z.ZodNullable) return withoutDefaults(schema.unwrap(), value);
  if (!(schema instanceof z.ZodObject) || !isPlainObject(value)) return value;
  const shape: Record<string, z.core.$ZodType | undefined> = schema.shape;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const field = shape[key];
    if (field instanceof z.ZodDefault && isDeepStrictEqual(v, field.def.defaultValue)) continue;
    out[key] = field ? withoutDefaults(field, v) : v;
  }
  return out;
}

/**
 * A validated payload as a job stores it: without the object fields that hold their schema's
 * default (a deployment's routing settings left as they are, no budget scopes, normal priority),
 * at any depth of nested objects. The consumer's parse (`defineProcessor`, and every reader of a
 * stored payload) puts them back, so the parsed payload is the same. A waiting `ai-route` job
 * keeps 110-180 bytes less of JSON in Redis, which keeps its `data` under 512 bytes (one jemalloc
 * size class: 128 bytes) for short prompts.
 */
export function storedPayload<Q extends QueueName>(name: Q, data: QueuePayload<Q>): Partial<QueuePayload<Q>> {
  return withoutDefaults(queueCatalog[name].schema, data) as Partial<QueuePayload<Q>>;
}

/**
 * `payload` parsed against the queue's catalog schema (throws zod's error naming every problem)
 * and stripped for storage ({@link storedPayload}): what every add writes.
 */
export function validatedPayload<Q extends QueueName>(name: Q, payload: unknown): Partial<QueuePayload<Q>> {
  return storedPayload(name, queueCatalog[name].schema.parse(payload) as QueuePayload<Q>);
}
