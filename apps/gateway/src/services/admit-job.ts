import type { BudgetUsage, PreparedRateLimitCheck, PreparedReserve, RateLimitDecision, ReserveResult } from "@switchyard/admission";
import { RATE_LIMIT_FUNCTIONS, RESERVE_FUNCTION } from "@switchyard/admission";
import { CREATE_JOB_FUNCTION, FAIR_DECIDE_FUNCTION, type FairDecision, type Redis } from "@switchyard/queue";

/**
 * Admission of one job as one Redis script, so a submission costs one round trip before its
 * enqueue, and concurrent gateways see one order:
 *   1. the idempotency key: a key already claimed is a replay, and nothing is spent;
 *   2. the rate limits (`RATE_LIMIT_CHECK`), recorded only when every window has room;
 *   3. the budget reservation (`RESERVE`), in every scope and the credit balance or in none; when
 *      it refuses (or a period must first be loaded from Postgres), step 2 is taken back, so a
 *      refused request consumes nothing;
 *   4. the job record and the idempotency claim (`CREATE_JOB`), and the reserved periods' usage
 *      read back for alerts and routing;
 *   5. with fair scheduling, the fair gate's decision for the created job (`FAIR_DECIDE_FUNCTION`): straight
 *      to BullMQ (the caller adds it) or "queue" (the caller pushes its entry), so the direct path
 *      costs no round trip of its own.
 * KEYS: create's 3, the rate limiter's (3 or 4), the reservation's (0 when no budget applies), the
 * fair decision's (0 or 9).
 * ARGV: 1 rate-limit key count, 2 reservation key count, 3 create argument count, 4 rate-limit
 * argument count, 5 fair key count, 6 fair argument count, then create's, the rate limiter's, the
 * fair decision's and the reservation's arguments.
 * Returns {"exists", job id, body hash} | {"limited", rl} | {"budget", rl, reserve reply}
 *       | {"created", rl, usage rows, fair decision or ""}.
 */
export const ADMIT_JOB = `
${RATE_LIMIT_FUNCTIONS}
${RESERVE_FUNCTION}
${CREATE_JOB_FUNCTION}
${FAIR_DECIDE_FUNCTION}
local function slice(t, a, b)
  local o = {}
  for i = a, b do o[#o + 1] = t[i] end
  return o
end
local nr, nb, nca, nra = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local nf, nfa = tonumber(ARGV[5]), tonumber(ARGV[6])
local ck, rk, bk = slice(KEYS, 1, 3), slice(KEYS, 4, 3 + nr), slice(KEYS, 4 + nr, 3 + nr + nb)
local fk = slice(KEYS, 4 + nr + nb, 3 + nr + nb + nf)
local ca = slice(ARGV, 7, 6 + nca)
local ra = slice(ARGV, 7 + nca, 6 + nca + nra)
local fa = slice(ARGV, 7 + nca + nra, 6 + nca + nra + nfa)
local ba = slice(ARGV, 7 + nca + nra + nfa, #ARGV)
local claimed = sy_job_claimed(ck)
if claimed then return claimed end
local rl = sy_rate_limit(rk, ra)
if rl[1] == 0 then return {"limited", rl} end
local rows = {}
if nb > 0 then
  local b = sy_reserve(bk, ba)
  if b[1] ~= "ok" then
    sy_rate_limit_undo(rk, ra)
    return {"budget", rl, b}
  end
  for i = 1, tonumber(ba[6]) do
    rows[i] = redis.call("HMGET", bk[2 + i], "spent_usd", "spent_tokens", "reserved_usd", "reserved_tokens")
  end
end
sy_create_job(ck, ca)
local path = ""
if nf > 0 then path = sy_fair_decide(fk, fa) end
return {"created", rl, rows, path}
`;

export type AdmitJobOutcome =
  | { kind: "exists"; jobId: string; bodyHash: string }
  | { kind: "limited"; decision: Extract<RateLimitDecision, { allowed: false }> }
  | { kind: "refused"; decision: RateLimitDecision; budget: Extract<ReserveResult, { ok: false }> }
  | { kind: "created"; decision: RateLimitDecision; usage: BudgetUsage[]; fair: FairDecision | null };

type Scripted = Redis & { syAdmitJob(numberOfKeys: number, ...keysThenArgv: string[]): Promise<unknown[]> };

/**
 * Define {@link ADMIT_JOB} on the connection. Called when the gateway starts: ioredis copies the
 * defined commands into each auto-pipeline as it opens one, so a command first defined while
 * other commands wait in an open auto-pipeline is missing from it ("pipeline[name] is not a
 * function", then "results[i] is not iterable" for everything in that pipeline).
 */
export function defineAdmitJob(redis: Redis): void {
  if (!("syAdmitJob" in redis)) redis.defineCommand("syAdmitJob", { lua: ADMIT_JOB });
}

/**
 * Run {@link ADMIT_JOB} for one job (again, at most twice more, when budget periods had to be
 * loaded from Postgres first). `fair`: the fair gate's decision half (`FairScheduler.prepareDecide`),
 * or null without fair scheduling.
 */
export async function admitAndCreateJob(
  redis: Redis,
  create: { keys: string[]; argv: string[] },
  rl: PreparedRateLimitCheck,
  budget: PreparedReserve | null,
  fair: { keys: string[]; argv: string[] } | null = null,
): Promise<AdmitJobOutcome> {
  defineAdmitJob(redis);
  const r = redis as Scripted;
  const bkeys = budget?.keys ?? [];
  const fkeys = fair?.keys ?? [];
  const fargv = fair?.argv ?? [];
  for (let round = 0; round < 3; round++) {
    const bargv = budget ? await budget.argv() : [];
    const reply = await r.syAdmitJob(
      3 + rl.keys.length + bkeys.length + fkeys.length,
      ...create.keys,
      ...rl.keys,
      ...bkeys,
      ...fkeys,
      String(rl.keys.length),
      String(bkeys.length),
      String(create.argv.length),
      String(rl.argv.length),
      String(fkeys.length),
      String(fargv.length),
      ...create.argv,
      ...rl.argv,
      ...fargv,
      ...bargv,
    );
    switch (reply[0]) {
      case "exists":
        return { kind: "exists", jobId: String(reply[1]), bodyHash: String(reply[2]) };
      case "limited": {
        const decision = rl.decide(reply[1]);
        if (decision.allowed) throw new Error("admission script refused a request its rate limits admitted");
        return { kind: "limited", decision };
      }
      case "budget": {
        const res = budget!.read(reply[2]);
        if (res === null) continue; // periods loaded from Postgres: decide again
        if (res.ok) throw new Error("admission script reported a budget refusal the reservation did not make");
        return { kind: "refused", decision: rl.decide(reply[1]), budget: res };
      }
      case "created":
        return {
          kind: "created",
          decision: rl.decide(reply[1]),
          usage: budget ? budget.usage(reply[2] as (string | null)[][]) : [],
          fair: typeof reply[3] === "string" && reply[3] !== "" ? (reply[3] as FairDecision) : null,
        };
      default:
        throw new Error(`unexpected admission reply ${JSON.stringify(reply).slice(0, 200)}`);
    }
  }
  throw new Error("budget state could not be initialised in Redis");
}
