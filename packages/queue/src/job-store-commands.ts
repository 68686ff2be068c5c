/**
 * The Lua scripts of job-store-scripts.ts as ioredis commands: each one's call signature (keys,
 * arguments, raw reply) and their registration on a connection.
 */
import {
  APPEND,
  BEGIN_RUN,
  CREATE_JOB,
  DISCARD,
  FINISH,
  FORGET_LIVE,
  LIVE_BEFORE,
  PARK_USAGE,
  START_ATTEMPT,
  TRANSITION,
  USAGE_HANDED_ON,
} from "./job-store-scripts";
import type { Redis } from "./redis";

/** The connection with the job-store commands defined (see {@link defineJobStoreCommands}). */
export type Scripted = Redis & {
  syCreateJob(k1: string, k2: string, k3: string, ...argv: string[]): Promise<string[]>;
  syTransition(k1: string, k2: string, k3: string, ...argv: string[]): Promise<string | null>;
  syAppend(k1: string, k2: string, k3: string, ...argv: string[]): Promise<string | null>;
  syFinish(k1: string, k2: string, k3: string, k4: string, ...argv: string[]): Promise<string | [string, string] | null>;
  syStartAttempt(
    k1: string,
    k2: string,
    k3: string,
    ...argv: string[]
  ): Promise<[string, string, number, number, string, number, string, number, string, number] | null>;
  syBeginRun(k1: string, ...argv: string[]): Promise<[string, ...(string | number)[]]>;
  syParkUsage(k1: string, ...argv: string[]): Promise<[number, string?]>;
  syUsageHandedOn(k1: string, ...argv: string[]): Promise<number>;
  syDiscard(k1: string, k2: string, k3: string, k4: string, ...argv: string[]): Promise<number>;
  syLiveBefore(k1: string, ...argv: string[]): Promise<string[]>;
  syForgetLive(k1: string, ...argv: string[]): Promise<number>;
};

/** Define the job-store commands on `r`, unless it already has them. */
export function defineJobStoreCommands(r: Redis): void {
  if (!("syCreateJob" in r)) {
    r.defineCommand("syCreateJob", { numberOfKeys: 3, lua: CREATE_JOB });
    r.defineCommand("syTransition", { numberOfKeys: 3, lua: TRANSITION });
    r.defineCommand("syAppend", { numberOfKeys: 3, lua: APPEND });
    r.defineCommand("syFinish", { numberOfKeys: 4, lua: FINISH });
    r.defineCommand("syStartAttempt", { numberOfKeys: 3, lua: START_ATTEMPT });
    r.defineCommand("syBeginRun", { numberOfKeys: 1, lua: BEGIN_RUN });
    r.defineCommand("syParkUsage", { numberOfKeys: 1, lua: PARK_USAGE });
    r.defineCommand("syUsageHandedOn", { numberOfKeys: 1, lua: USAGE_HANDED_ON });
    r.defineCommand("syDiscard", { numberOfKeys: 4, lua: DISCARD });
    r.defineCommand("syLiveBefore", { numberOfKeys: 1, lua: LIVE_BEFORE });
    r.defineCommand("syForgetLive", { numberOfKeys: 1, lua: FORGET_LIVE });
  }
}
