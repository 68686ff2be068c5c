/**
 * What the processes a bench started printed: the apps run at LOG_LEVEL=warn, so every line they
 * print is a warning or worse, and a bench reports how many there were and the first few.
 */
import type { Stack } from "@switchyard/testkit";

/** Non-empty lines a process printed (the apps run at LOG_LEVEL=warn), first few kept. */
export function complaints(output: string) {
  const lines = output.split("\n").filter((l) => l.trim() !== "");
  return { lines: lines.length, first: lines.slice(0, 3).map((l) => l.slice(0, 300)) };
}

/** Lines the apps printed (they run at LOG_LEVEL=warn, so every line is a warning or worse). */
export function appComplaints(stack: Stack): Record<string, { lines: number; first: string[] }> {
  const out: Record<string, { lines: number; first: string[] }> = {};
  for (const [label, app] of stack.apps) out[label] = complaints(app.output());
  return out;
}
