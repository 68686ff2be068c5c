/**
 * Idle memory of the apps (issue 17): each app's RSS run from TypeScript through the tsx loader
 * (`node --import tsx apps/<app>/src/main.ts`, how the apps ran before `pnpm build`) against its
 * production bundle (`node apps/<app>/dist/main.js`), same machine, same run, alternating.
 *
 * For each mode, BENCH_RSS_ROUNDS times (default 3): the four apps started against their own
 * database and Redis prefix, left idle BENCH_RSS_IDLE_SECONDS (default 5) after they answer, then
 * each process's VmRSS from /proc. Prints the median per app and mode, and compiled ÷ loader.
 * Builds the bundles first. Needs Redis and Postgres as the tests do (TEST_REDIS_URL, TEST_DATABASE_URL).
 */
import { readFileSync } from "node:fs";
import { startStack } from "@switchyard/testkit";
import { APPS, buildApp } from "../scripts/lib/build-apps";

const ROUNDS = Number(process.env.BENCH_RSS_ROUNDS ?? 3);
const IDLE_S = Number(process.env.BENCH_RSS_IDLE_SECONDS ?? 5);

function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

async function measure(compiled: boolean): Promise<Record<string, number>> {
  const s = await startStack({ apps: [...APPS], env: { SWITCHYARD_COMPILED_APPS: compiled ? "1" : "0" } });
  try {
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    return Object.fromEntries(APPS.map((a) => [a, rssKiB(s.apps.get(a)!.child.pid!)]));
  } finally {
    await s.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  for (const app of APPS) await buildApp(app);
  const runs: Record<"loader" | "compiled", Record<string, number>[]> = { loader: [], compiled: [] };
  for (let i = 0; i < ROUNDS; i++) {
    runs.loader.push(await measure(false));
    runs.compiled.push(await measure(true));
  }
  console.log(`idle RSS after ${IDLE_S} s, median of ${ROUNDS} rounds (MiB), node ${process.version}`);
  console.log("app               tsx loader  compiled  compiled/loader");
  let sumL = 0;
  let sumC = 0;
  for (const app of APPS) {
    const l = median(runs.loader.map((r) => r[app]!)) / 1024;
    const c = median(runs.compiled.map((r) => r[app]!)) / 1024;
    sumL += l;
    sumC += c;
    console.log(`${app.padEnd(16)}  ${l.toFixed(1).padStart(10)}  ${c.toFixed(1).padStart(8)}  ${(c / l).toFixed(2).padStart(15)}`);
  }
  console.log(`${"all four".padEnd(16)}  ${sumL.toFixed(1).padStart(10)}  ${sumC.toFixed(1).padStart(8)}  ${(sumC / sumL).toFixed(2).padStart(15)}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
