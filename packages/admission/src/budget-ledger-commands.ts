/**
 * The Lua scripts of budget-ledger-scripts.ts as ioredis commands: the connection they run on, their
 * call shape and their registration.
 */
import type { Cluster, Redis as SingleRedis } from "ioredis";
import { ADJUST_CREDITS, EXPIRE_ORPHANS, INIT_BUDGET, RELEASE, RESERVE, SETTLE, TOP_UP } from "./budget-ledger-scripts";

/** One server or a Redis Cluster (the keys are all in one hash slot). */
export type Redis = SingleRedis | Cluster;

type Script = (...keysThenArgv: Array<string | number>) => Promise<unknown>;
/** The connection with the ledger's commands defined (see {@link defineBudgetLedgerCommands}). */
export type Scripted = Redis &
  Record<"syBudgetReserve" | "syBudgetSettle" | "syBudgetTopUp" | "syBudgetRelease" | "syBudgetExpire" | "syBudgetInit" | "syBudgetAdjustCredits", Script>;

/** Define the budget ledger's commands on `r`, unless it already has them. */
export function defineBudgetLedgerCommands(r: Redis): void {
  if (!("syBudgetReserve" in r)) {
    // Variable key counts: passed first at call time.
    r.defineCommand("syBudgetReserve", { lua: RESERVE });
    r.defineCommand("syBudgetSettle", { lua: SETTLE });
    r.defineCommand("syBudgetTopUp", { numberOfKeys: 1, lua: TOP_UP });
    r.defineCommand("syBudgetRelease", { numberOfKeys: 2, lua: RELEASE });
    r.defineCommand("syBudgetExpire", { numberOfKeys: 1, lua: EXPIRE_ORPHANS });
    r.defineCommand("syBudgetInit", { numberOfKeys: 1, lua: INIT_BUDGET });
    r.defineCommand("syBudgetAdjustCredits", { numberOfKeys: 1, lua: ADJUST_CREDITS });
  }
}
