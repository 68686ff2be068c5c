import pg from "pg";
async function main() {
  const url = process.argv[2]!;
  const setup = new pg.Client({ connectionString: url }); await setup.connect();
  await setup.query("CREATE TABLE IF NOT EXISTS mix (n int)");
  const pool = new pg.Pool({ connectionString: url, max: 8, query_timeout: 5000 });
  const wrong: string[] = [];
  await Promise.all(Array.from({ length: 200 }, async (_, i) => {
    try {
      if (i % 4 === 0) {
        const c = await pool.connect();
        try { await c.query("BEGIN"); await c.query("INSERT INTO mix VALUES ($1)", [i]); await c.query("COMMIT"); } finally { c.release(); }
      } else {
        const k = (i % 3) + 1;
        const r = await pool.query(`SELECT $1::text AS a, $2::int * ${k} AS b`, [`q${i}`, i]);
        if (r.rows[0]?.a !== `q${i}` || r.rows[0]?.b !== i * k) wrong.push(`${i}: ${JSON.stringify(r.rows)}`);
      }
    } catch (e) { wrong.push(`${i}: ${(e as Error).message}`); }
  }));
  console.log("wrong", wrong.length, wrong.slice(0, 3));
  await pool.end(); await setup.end();
}
main();
