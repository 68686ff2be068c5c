/**
 * Usage events per second written to the Postgres ledger: micro-batches (one multi-row insert and
 * the rollups per transaction, as the aggregator does) against one transaction per event, on the
 * same database, same events. Prints both and the ratio; figures also go to bench/out/usage-ingest.json.
 *
 *   pnpm bench:usage            (BENCH_EVENTS=20000 BENCH_BATCH=200 BENCH_SINGLE_CONCURRENCY=8)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { UsageEvent } from "@switchyard/contracts";
import { ingestUsageEvents, UsagePartitions } from "@switchyard/db";
import { createTestDatabase } from "@switchyard/testkit";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 200);
const SINGLE_CONCURRENCY = Number(process.env.BENCH_SINGLE_CONCURRENCY ?? 8);

function events(label: string, n: number): UsageEvent[] {
  const day = new Date();
  return Array.from({ length: n }, (_, i) =>
    UsageEvent.parse({
      job_id: `job_${label}_${i}`,
      attempt: 1,
      tenant_id: `ten_${i % 5}`,
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
    }),
  );
}

async function main(): Promise<void> {
  const t = await createTestDatabase();
  try {
    await new UsagePartitions(t.db).ensureAhead();
    // Batched: sequential transactions of BATCH events each.
    const batched = events("b", EVENTS);
    const t0 = performance.now();
    for (let i = 0; i < batched.length; i += BATCH) await ingestUsageEvents(t.db, batched.slice(i, i + BATCH));
    const batchedS = (performance.now() - t0) / 1000;

    // One transaction per event, SINGLE_CONCURRENCY at a time (a consumer without batching).
    const single = events("s", EVENTS);
    let next = 0;
    const t1 = performance.now();
    await Promise.all(
      Array.from({ length: SINGLE_CONCURRENCY }, async () => {
        while (next < single.length) await ingestUsageEvents(t.db, [single[next++]!]);
      }),
    );
    const singleS = (performance.now() - t1) / 1000;

    const rows = await t.db.selectFrom("usage_events").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    const result = {
      events: EVENTS,
      batch_size: BATCH,
      single_concurrency: SINGLE_CONCURRENCY,
      batched_events_per_s: Math.round(EVENTS / batchedS),
      single_events_per_s: Math.round(EVENTS / singleS),
      ratio: Number((singleS / batchedS).toFixed(2)),
      rows_written: Number(rows.n),
    };
    console.log(`usage ingest, ${EVENTS} events each way`);
    console.log(`  micro-batches of ${BATCH}:            ${result.batched_events_per_s} events/s (${batchedS.toFixed(2)} s)`);
    console.log(`  one transaction per event (x${SINGLE_CONCURRENCY}):  ${result.single_events_per_s} events/s (${singleS.toFixed(2)} s)`);
    console.log(`  batching is ${result.ratio}x faster; rows written ${result.rows_written} (expected ${2 * EVENTS})`);
    const out = path.join(__dirname, "out");
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, "usage-ingest.json"), JSON.stringify(result, null, 2));
  } finally {
    await t.drop();
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
