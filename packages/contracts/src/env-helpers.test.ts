import { z } from "zod";
import { envBoolean, envInt, parseEnv } from "./env-helpers";

test("booleans: false-ish strings are false (unlike z.coerce.boolean)", () => {
  const s = z.object({ A: envBoolean(true), B: envBoolean(false), C: envBoolean(true) });
  expect(s.parse({ A: "false", B: "yes", C: undefined })).toEqual({ A: false, B: true, C: true });
  expect(s.safeParse({ A: "maybe" }).success).toBe(false);
});

test("integers: default when unset, error on junk instead of NaN", () => {
  const s = z.object({ PORT: envInt(8080) });
  expect(s.parse({})).toEqual({ PORT: 8080 });
  expect(s.parse({ PORT: "9000" })).toEqual({ PORT: 9000 });
  expect(() => parseEnv(s, { PORT: "eighty" })).toThrow(/PORT/);
});

test("parseEnv lists every problem", () => {
  const s = z.object({ A: envInt(1), B: z.string().url() });
  expect(() => parseEnv(s, { A: "x", B: "not a url" })).toThrow(/A:[\s\S]*B:/);
});
