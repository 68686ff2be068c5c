import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let ticksPerSecond: number | null = null;
function clkTck(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * CPU time (user + system, ms) used so far by a process and all its descendants, from /proc.
 * The apps run as `tsx` → `node`, so the app's own CPU is in a child of the spawned pid.
 * Null where /proc is not available (not Linux). Resolution is one clock tick (usually 10 ms).
 */
export function processTreeCpuMs(rootPid: number | undefined): number | null {
  if (rootPid === undefined) return null;
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return null;
  }
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const e of entries) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the command name (which may hold spaces) start at "state".
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const pid = Number(e);
    const ppid = Number(rest[1]);
    ticks.set(pid, Number(rest[11]) + Number(rest[12]));
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  if (!ticks.has(rootPid)) return null;
  let total = 0;
  const todo = [rootPid];
  while (todo.length) {
    const pid = todo.pop()!;
    total += ticks.get(pid) ?? 0;
    todo.push(...(children.get(pid) ?? []));
  }
  return (total * 1000) / clkTck();
}

/** This process's own CPU time (user + system), ms. */
export const selfCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
