/**
 * Usage events per second written to the ledger by the aggregator's own writer
 * (`createLedgerWriter` of apps/usage-aggregator: partitions checked, usage rows inserted once per
 * (job, attempt), daily rollups and prepaid credit debits from the rows actually inserted, a bad
 * event isolated), against one transaction per event through the same writer, on the same
 * database, events of the same shape. Two databases, each measured on its own:
 *
 *   - postgres: a fresh database on the machine's Postgres (TEST_DATABASE_URL).
 *   - pglite: the embedded default as `pnpm start` runs it — scripts/pglite-server.ts in a child
 *     process (PGlite behind the wire-protocol multiplexer), reached over TCP by a `pg` pool.
 *
 * Batched: the aggregator's MicroBatcher, batches of BENCH_BATCH with BENCH_IN_FLIGHT written at
 * once (defaults: the aggregator's USAGE_BATCH_SIZE and USAGE_BATCHES_IN_FLIGHT), fed by as many
 * concurrent deliveries as its BullMQ worker holds. Baseline: one event per transaction through
 * the same writer, BENCH_SINGLE_CONCURRENCY at a time (a consumer without batching).
 * Events: 5 tenants, 3 of them prepaid (their events debit credits), 10 deployments, 3 models, 2 %
 * failed, and BENCH_DUPLICATES (default 2 %) re-delivered in a later batch. Not included: BullMQ
 * (taking events off `ai-usage`, acknowledging them) and the after-commit daily-cost alert read.
 * After each run the ledger is checked against a reference computed here (rows, rollups, debits,
 * balances); a mismatch fails the bench.
 *
 *   pnpm bench:usage
 *   BENCH_EVENTS=40000 BENCH_BATCH=200 BENCH_IN_FLIGHT=2 BENCH_SINGLE_EVENTS=10000 BENCH_SINGLE_CONCURRENCY=8 BENCH_PGLITE_EVENTS=10000
 *   BENCH_PGLITE_SINGLE_EVENTS=2000 BENCH_DUPLICATES=0.02 (BENCH_PGLITE_EVENTS=0 skips PGlite)
 *
 * Prints events/s both ways and the ratio per database; figures also go to bench/out/usage-ingest.json.
 * Also the CPU the batched run cost per 1 000 events (this process + the database's processes:
 * the Postgres backends serving the pool, or the PGlite server), and the rate that CPU allows
 * on 2 otherwise idle cores: on a shared machine events/s falls with what else runs, CPU per
 * event much less.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { UsageEvent } from "@switchyard/contracts";
import { createDb, createTenant, migrateToLatest, UsagePartitions, type Database } from "@switchyard/db";
import { createTestDatabase } from "@switchyard/testkit";
import { sql, type Kysely } from "kysely";
import { processTreeCpuMs, selfCpuMs } from "./lib/proc-cpu";
import { AggregatorEnv, usageConsumerSlots } from "../apps/usage-aggregator/src/env";
import { createLedgerWriter, type UsageDelivery } from "../apps/usage-aggregator/src/ledger-writer";
import { MicroBatcher } from "../apps/usage-aggregator/src/micro-batcher";

/** The aggregator's defaults (apps/usage-aggregator/src/env.ts). */
const DEFAULTS = AggregatorEnv.parse({ DATABASE_URL: "postgres://unused/x" });
const EVENTS = Number(process.env.BENCH_EVENTS ?? 40_000);
const BATCH = Number(process.env.BENCH_BATCH ?? DEFAULTS.USAGE_BATCH_SIZE);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? DEFAULTS.USAGE_BATCHES_IN_FLIGHT);
const SINGLE_EVENTS = Number(process.env.BENCH_SINGLE_EVENTS ?? 10_000);
const SINGLE_CONCURRENCY = Number(process.env.BENCH_SINGLE_CONCURRENCY ?? 8);
const PGLITE_EVENTS = Number(process.env.BENCH_PGLITE_EVENTS ?? 10_000);
const PGLITE_SINGLE_EVENTS = Number(process.env.BENCH_PGLITE_SINGLE_EVENTS ?? 2_000);
const DUPLICATES = Number(process.env.BENCH_DUPLICATES ?? 0.02);
const TENANTS = 5;
const PREPAID = new Set(["ten_b0", "ten_b1", "ten_b2"]);

function events(label: string, n: number): UsageEvent[] {
  const day = new Date();
  return Array.from({ length: n }, (_, i) => {
    const tenant = `ten_b${i % TENANTS}`;
    return UsageEvent.parse({
      job_id: `job_${label}_${i}`,
      attempt: 1,
      tenant_id: tenant,
      deployment_id: `dep_${i % 10}`,
      api_key_id: null,
      requested_model: "auto",
      served_model: ["sim-lite", "sim-flash", "sim-pro"][i % 3],
      provider: "simulated",
      status: i % 50 === 0 ? "failed" : "succeeded",
      input_tokens: 100 + (i % 40),
      output_tokens: 50 + (i % 30),
      cost_usd: 0.0001 * (1 + (i % 7)),
      provenance: "reported",
      ttft_ms: 40,
      latency_ms: 200,
      occurred_at: day.toISOString(),
      credits_tenant_id: PREPAID.has(tenant) ? tenant : null,
    });
  });
}

/** The events in delivery order, a share of them delivered a second time ~1.5 batches later (at-least-once queues). */
function withRedeliveries(evs: UsageEvent[]): UsageEvent[] {
  const every = DUPLICATES > 0 ? Math.max(1, Math.round(1 / DUPLICATES)) : 0;
  const later = new Map<number, UsageEvent[]>();
  const out: UsageEvent[] = [];
  evs.forEach((e, i) => {
    out.push(e, ...(later.get(i) ?? []));
    if (every && i % every === 0) {
      const at = i + Math.ceil(BATCH * 1.5);
      later.set(at, [...(later.get(at) ?? []), e]);
    }
  });
  for (const [at, dups] of later) if (at >= evs.length) out.push(...dups);
  return out;
}

interface Target {
  name: string;
  db: Kysely<Database>;
  /** CPU ms used so far by the database's processes serving `db` (null where /proc cannot tell). */
  serverCpuMs(): Promise<number | null>;
  close(): Promise<void>;
}

const POOL = 5;

async function postgresTarget(): Promise<Target> {
  const t = await createTestDatabase();
  // Every connection of the pool opened now (all held at once), so the backends measured are the ones that will serve the run.
  const pids = await Promise.all(
    Array.from({ length: POOL }, () => sql<{ pid: number }>`SELECT pg_backend_pid() AS pid, pg_sleep(0.1)`.execute(t.db).then((r) => r.rows[0]!.pid)),
  );
  const serverCpuMs = async () => {
    const each = [...new Set(pids)].map((pid) => processTreeCpuMs(pid));
    return each.some((c) => c === null) ? null : each.reduce<number>((a, c) => a + c!, 0);
  };
  return { name: "postgres", db: t.db, serverCpuMs, close: () => t.drop() };
}

/** scripts/pglite-server.ts in a child process, on a free port, data in a temporary folder. */
async function pgliteTarget(): Promise<Target> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sy-bench-pglite-"));
  const root = path.join(__dirname, "..");
  const child: ChildProcess = spawn(process.execPath, [path.join(root, "node_modules/tsx/dist/cli.mjs"), path.join(root, "scripts/pglite-server.ts")], {
    env: { ...process.env, PGLITE_PORT: "0", PGLITE_DATA_DIR: path.join(dir, "pglite"), PGLITE_VECTOR: "false" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise<void>((r) => setTimeout(r, 10_000).unref())]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const addr = await new Promise<string>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error("pglite server did not start within 60 s")), 60_000);
      child.stdout!.on("data", (b: Buffer) => {
        out += b.toString();
        const m = /pglite ready on (\S+:\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once("exit", (code) => (clearTimeout(timer), reject(new Error(`pglite server exited (${code})`))));
    });
    const db = createDb({ connectionString: `postgres://postgres@${addr}/postgres`, max: POOL });
    await migrateToLatest(db);
    return { name: "pglite", db, serverCpuMs: async () => processTreeCpuMs(child.pid), close: async () => (await db.destroy(), await stop()) };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Exact reference: what the ledger must hold for these distinct events. */
async function check(db: Kysely<Database>, distinct: UsageEvent[]): Promise<void> {
  const nano = (usd: number) => BigInt(Math.round(usd * 1e9));
  const want = { rows: distinct.length, requests: distinct.length, errors: 0, input: 0, cost: 0n, debits: 0, debited: new Map<string, bigint>() };
  for (const e of distinct) {
    if (e.status === "failed") want.errors++;
    want.input += e.input_tokens;
    want.cost += nano(e.cost_usd);
    if (e.credits_tenant_id) {
      want.debits++;
      want.debited.set(e.credits_tenant_id, (want.debited.get(e.credits_tenant_id) ?? 0n) + nano(e.cost_usd));
    }
  }
  const got = (
    await sql<{ rows: string; requests: string; errors: string; input: string; cost: string; debits: string }>`
      SELECT (SELECT count(*) FROM usage_events) AS rows,
        (SELECT sum(requests) FROM usage_daily) AS requests, (SELECT sum(errors) FROM usage_daily) AS errors,
        (SELECT sum(input_tokens) FROM usage_daily) AS input, (SELECT (sum(cost_usd) * 1e9)::bigint FROM usage_daily) AS cost,
        (SELECT count(*) FROM credit_ledger WHERE kind = 'debit') AS debits`.execute(db)
  ).rows[0]!;
  const balances = await sql<{
    tenant_id: string;
    nano: string;
    entries: string;
  }>`SELECT tenant_id, (-balance_usd * 1e9)::bigint AS nano, entries FROM credit_balances`.execute(db);
  const problems: string[] = [];
  const eq = (what: string, a: unknown, b: unknown) => String(a) !== String(b) && problems.push(`${what}: ${String(a)} != expected ${String(b)}`);
  eq("usage rows", got.rows, want.rows);
  eq("rollup requests", got.requests, want.requests);
  eq("rollup errors", got.errors, want.errors);
  eq("rollup input tokens", got.input, want.input);
  eq("rollup cost (nano-USD)", got.cost, want.cost);
  eq("debit entries", got.debits, want.debits);
  eq(
    "balances",
    balances.rows
      .map((r) => `${r.tenant_id}=${r.nano}/${r.entries}`)
      .sort()
      .join(" "),
    [...want.debited]
      .map(([t, n]) => `${t}=${n}/${distinct.filter((e) => e.credits_tenant_id === t).length}`)
      .sort()
      .join(" "),
  );
  if (problems.length) throw new Error(`ledger does not match the reference:\n  ${problems.join("\n  ")}`);
}

interface Figures {
  database: string;
  events: number;
  deliveries: number;
  batch_size: number;
  batches_in_flight: number;
  batched_events_per_s: number;
  single_events: number;
  single_concurrency: number;
  single_events_per_s: number;
  ratio: number;
  /** CPU ms per 1 000 events of the batched run: this process, the database's processes. */
  cpu_ms_per_1000: { bench: number; database: number | null };
  /** Events/s that CPU allows on 2 idle cores (2 000 ms of CPU per second / CPU ms per event). */
  cpu_bound_events_per_s: number | null;
}

async function run(target: Target, n: number, singleN: number): Promise<Figures> {
  const db = target.db;
  for (let i = 0; i < TENANTS; i++) {
    const id = `ten_b${i}`;
    await createTenant(db, { id, name: id, timezone: "UTC", billing_mode: PREPAID.has(id) ? "prepaid" : "postpaid" }, { keyId: null });
  }
  const partitions = new UsagePartitions(db);
  await partitions.ensureAhead();
  const ledger = createLedgerWriter({ db, partitions });
  const deliver = (e: UsageEvent): UsageDelivery => ({ event: e, raw: e, queueJobId: null });
  const flush = async (evs: UsageEvent[]) => {
    const outcomes = await ledger.flush(evs.map(deliver));
    const failed = outcomes.find((o) => o !== undefined);
    if (failed !== undefined) throw failed instanceof Error ? failed : new Error("a batch failed", { cause: failed });
  };

  // Warm-up (connections, plans), not timed, checked with the rest.
  const warm = events(`${target.name}_w`, Math.min(BATCH, 500));
  await flush(warm);

  const batchedEvents = events(`${target.name}_b`, n);
  const batched = withRedeliveries(batchedEvents);
  // As the aggregator consumes: its MicroBatcher with its settings, fed by as many concurrent
  // deliveries as its BullMQ worker holds (each waits until its batch commits).
  const batcher = new MicroBatcher<UsageDelivery>({
    maxSize: BATCH,
    maxWaitMs: DEFAULTS.USAGE_BATCH_WAIT_MS,
    maxInFlight: IN_FLIGHT,
    flush: (deliveries) => ledger.flush(deliveries),
  });
  let taken = 0;
  const cpu0 = { bench: selfCpuMs(), db: await target.serverCpuMs() };
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: usageConsumerSlots({ USAGE_BATCH_SIZE: BATCH, USAGE_BATCHES_IN_FLIGHT: IN_FLIGHT }) }, async () => {
      while (taken < batched.length) await batcher.add(deliver(batched[taken++]!));
    }),
  );
  const batchedS = (performance.now() - t0) / 1000;
  const cpu1 = { bench: selfCpuMs(), db: await target.serverCpuMs() };

  const singleEvents = events(`${target.name}_s`, singleN);
  const single = withRedeliveries(singleEvents);
  let next = 0;
  const t1 = performance.now();
  await Promise.all(
    Array.from({ length: SINGLE_CONCURRENCY }, async () => {
      while (next < single.length) await flush([single[next++]!]);
    }),
  );
  const singleS = (performance.now() - t1) / 1000;

  await check(db, [...warm, ...batchedEvents, ...singleEvents]);
  const batchedRate = batchedEvents.length / batchedS;
  const singleRate = singleEvents.length / singleS;
  const per1000 = (ms: number) => Number(((ms * 1000) / batchedEvents.length).toFixed(1));
  const cpuBench = per1000(cpu1.bench - cpu0.bench);
  const cpuDb = cpu0.db === null || cpu1.db === null ? null : per1000(cpu1.db - cpu0.db);
  return {
    database: target.name,
    events: n,
    deliveries: batched.length,
    batch_size: BATCH,
    batches_in_flight: IN_FLIGHT,
    batched_events_per_s: Math.round(batchedRate),
    single_events: singleN,
    single_concurrency: SINGLE_CONCURRENCY,
    single_events_per_s: Math.round(singleRate),
    ratio: Number((batchedRate / singleRate).toFixed(2)),
    cpu_ms_per_1000: { bench: cpuBench, database: cpuDb },
    cpu_bound_events_per_s: cpuDb === null ? null : Math.round((2000 * 1000) / (cpuBench + cpuDb)),
  };
}

async function measure(open: () => Promise<Target>, n: number, singleN: number): Promise<Figures> {
  const target = await open();
  try {
    return await run(target, n, singleN);
  } finally {
    await target.close();
  }
}

async function main(): Promise<void> {
  const results: Figures[] = [await measure(postgresTarget, EVENTS, SINGLE_EVENTS)];
  if (PGLITE_EVENTS > 0) results.push(await measure(pgliteTarget, PGLITE_EVENTS, PGLITE_SINGLE_EVENTS));
  console.log(
    `usage ingest through the aggregator's ledger writer (rollups, credit debits for 3 of ${TENANTS} tenants, ${DUPLICATES * 100} % re-delivered; ledger checked exact)`,
  );
  for (const r of results) {
    console.log(`  ${r.database}:`);
    console.log(
      `    micro-batches of ${r.batch_size}, ${r.batches_in_flight} in flight: ${r.batched_events_per_s} events/s (${r.events} events, ${r.deliveries} deliveries)`,
    );
    console.log(`    one transaction per event (x${r.single_concurrency}):    ${r.single_events_per_s} events/s (${r.single_events} events)`);
    console.log(`    batching is ${r.ratio}x one transaction per event`);
    console.log(
      `    CPU per 1000 events (batched): ${r.cpu_ms_per_1000.bench} ms bench + ${r.cpu_ms_per_1000.database ?? "?"} ms ${r.database}` +
        (r.cpu_bound_events_per_s === null ? "" : ` -> ${r.cpu_bound_events_per_s} events/s on 2 idle cores`),
    );
  }
  const out = path.join(__dirname, "out");
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, "usage-ingest.json"), JSON.stringify(results, null, 2));
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err);
    process.exit(1);
  },
);
