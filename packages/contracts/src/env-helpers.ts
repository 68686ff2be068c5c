import { z } from "zod";

/** Env booleans: "true/1/yes/on" and "false/0/no/off" (z.coerce.boolean("false") is true). */
export const envBoolean = (def: boolean) =>
  z.preprocess((v) => {
    if (v === undefined || v === "") return def;
    if (typeof v !== "string") return v;
    const s = v.trim().toLowerCase();
    if (["true", "1", "yes", "on"].includes(s)) return true;
    if (["false", "0", "no", "off"].includes(s)) return false;
    return v;
  }, z.boolean());

/** Env integers with a default; rejects NaN and junk instead of falling through. */
export const envInt = (def: number, min = 0) => z.preprocess((v) => (v === undefined || v === "" ? def : v), z.coerce.number().int().min(min));

/** Parse an app's env once; throw listing every problem. */
export function parseEnv<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv = process.env): z.infer<T> {
  const r = schema.safeParse(env);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid environment:\n${lines.join("\n")}`);
  }
  return r.data;
}

/** An env string where "" means unset (so `VAR=` falls back to the default instead of failing). */
export const envString = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === "" ? undefined : v), schema);
