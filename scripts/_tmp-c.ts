import pg from "pg";
async function main() {
  const setup = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:54400/postgres" });
  await setup.connect();
  const steps = [`CREATE TABLE check_events (id bigserial, worker text NOT NULL, n int NOT NULL, created_at timestamptz NOT NULL,
      PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at)`,
    "CREATE TABLE check_events_2026_01 PARTITION OF check_events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')",
    "CREATE TABLE check_counter (k text PRIMARY KEY, v int NOT NULL)",
    "INSERT INTO check_counter VALUES ('w1', 0), ('w2', 0)"];
  for (const s of steps) { console.log("run", s.slice(0, 40)); await setup.query(s); }
  console.log("done");
  await setup.end();
}
main().catch((e) => { console.error(e); process.exit(1); });
