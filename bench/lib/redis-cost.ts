import type { Redis } from "@switchyard/queue";

/** `INFO commandstats` as command → {calls, usec}. */
export async function commandStats(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const info: string = await redis.info("commandstats").catch(() => "");
  const out = new Map<string, { calls: number; usec: number }>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) out.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  return out;
}

/** Bytes Redis holds (`INFO memory` used_memory). */
export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info("memory");
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN);
}

const SCRIPT_COMMANDS = ["evalsha", "eval", "evalsha_ro", "eval_ro", "fcall", "fcall_ro"];

/**
 * Redis time (µs) the commands a client sent took, from two `INFO commandstats` readings:
 * scripts (whose time includes every command they ran) plus the other top-level commands it
 * sent (`topLevel`, e.g. from {@link sampleRoundTrips}). Commands a script runs are counted in
 * their own lines too, so summing every line would count them twice.
 */
export function clientCommandUsec(before: Map<string, { usec: number }>, after: Map<string, { usec: number }>, topLevel: Iterable<string>): number {
  const names = new Set([...SCRIPT_COMMANDS, ...[...topLevel].map((c) => c.toLowerCase()).filter((c) => !SCRIPT_COMMANDS.includes(c))]);
  let usec = 0;
  for (const n of names) usec += (after.get(n)?.usec ?? 0) - (before.get(n)?.usec ?? 0);
  return usec;
}

export interface RoundTripSample {
  ops: number;
  /** Top-level commands (not run inside a script) per operation, from every client but the monitor's. */
  commands_per_op: number;
  /** Scripts among them, per operation. */
  scripts_per_op: number;
  /** Top-level commands by name, per operation. */
  by_command: Record<string, number>;
}

/**
 * Runs `ops` operations one at a time under `MONITOR` and counts the top-level commands Redis
 * received per operation. Run one at a time, each top-level command is a round trip the operation
 * waited for (commands pipelined in one write would count once each, so this is an upper bound).
 * Background commands of the process under test (metrics polls) fall in the count too; `keyFilter`
 * keeps only commands whose arguments mention it.
 */
export async function sampleRoundTrips(redis: Redis, ops: number, op: (i: number) => Promise<void>, keyFilter: string): Promise<RoundTripSample> {
  const mon = await (redis as Extract<Redis, { monitor: unknown }>).monitor();
  mon.on("error", () => undefined);
  const counts = new Map<string, number>();
  let total = 0;
  let scripts = 0;
  mon.on("monitor", (_t: string, args: string[], source: string) => {
    if (source === "lua" || !args.some((a) => a.includes(keyFilter))) return;
    const name = String(args[0]).toLowerCase();
    counts.set(name, (counts.get(name) ?? 0) + 1);
    total++;
    if (SCRIPT_COMMANDS.includes(name)) scripts++;
  });
  try {
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < ops; i++) await op(i);
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    mon.disconnect();
  }
  const per = (n: number) => Math.round((n / ops) * 100) / 100;
  return { ops, commands_per_op: per(total), scripts_per_op: per(scripts), by_command: Object.fromEntries([...counts].map(([k, v]) => [k, per(v)])) };
}
