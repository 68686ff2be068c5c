/**
 * CPU readings for benches that account where CPU went during a run: a set of processes (with
 * their descendants), the whole machine, the Postgres backends serving one database, and the
 * Redis server (from `INFO cpu`). Each is a reading so far; a bench takes two and subtracts.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { Redis } from "@switchyard/queue";
import { processTreeCpuMs } from "./proc-cpu";

/** CPU (ms) of the processes `pids` and their descendants; null where one of them cannot be read. */
export function cpuMs(pids: number[]): number | null {
  let total = 0;
  for (const pid of pids) {
    const v = processTreeCpuMs(pid);
    if (v === null) return null;
    total += v;
  }
  return total;
}

/** Busy and total jiffies of the whole machine, from /proc/stat (null where there is none). */
export function machineTicks(): { busy: number; total: number } | null {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
  } catch {
    return null;
  }
}

/** CPU (ms) of the Postgres backends serving database `db` (found by their process title), or null off Linux. */
export function postgresCpuMs(db: string): number | null {
  let total = 0;
  try {
    for (const e of readdirSync("/proc")) {
      if (!/^\d+$/.test(e)) continue;
      let cmd: string;
      try {
        cmd = readFileSync(`/proc/${e}/cmdline`, "utf8");
      } catch {
        continue; // exited meanwhile
      }
      if (cmd.startsWith("postgres:") && cmd.includes(` ${db} `)) total += processTreeCpuMs(Number(e)) ?? 0;
    }
  } catch {
    return null;
  }
  return total;
}

/** Redis server CPU (user + sys) so far, ms; the server may be shared, so this is indicative. */
export async function redisCpuMs(redis: Redis | null): Promise<number | null> {
  if (!redis) return null;
  const info = await redis.info("cpu").catch(() => "");
  const user = /used_cpu_user:([\d.]+)/.exec(info)?.[1];
  const sys = /used_cpu_sys:([\d.]+)/.exec(info)?.[1];
  return user && sys ? (Number(user) + Number(sys)) * 1000 : null;
}
