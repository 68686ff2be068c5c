import { sql, type Kysely } from "kysely";
import { createMonthPartition } from "./migrations/0003-ledger";
import type { Database } from "./schema";

const monthOf = (d: Date) => d.toISOString().slice(0, 7);

function addMonths(month: string, n: number): string {
  const [y, m] = month.split("-").map(Number) as [number, number];
  const idx = y * 12 + (m - 1) + n;
  return `${Math.floor(idx / 12)}-${String((idx % 12) + 1).padStart(2, "0")}`;
}

/**
 * Usage partitions for UTC months, created ahead of need. A cache of months known to exist keeps
 * the hot path (every batch) free of DDL.
 */
export class UsagePartitions {
  private readonly known = new Set<string>();
  constructor(private readonly db: Kysely<Database>) {}

  /** This month and the next `ahead` months. */
  async ensureAhead(now = new Date(), ahead = 2): Promise<string[]> {
    const months = Array.from({ length: ahead + 1 }, (_, i) => addMonths(monthOf(now), i));
    await this.ensureMonths(months);
    return months;
  }

  /** Partitions for every month these instants fall in. */
  async ensureFor(instants: Array<Date | string>): Promise<void> {
    await this.ensureMonths([...new Set(instants.map((t) => monthOf(new Date(t))))]);
  }

  private async ensureMonths(months: string[]): Promise<void> {
    for (const m of months) {
      if (this.known.has(m)) continue;
      try {
        await createMonthPartition(this.db as Kysely<unknown>, m);
      } catch (err) {
        // Two aggregators creating the same partition: the loser sees a duplicate; that's fine.
        if (!/already exists/.test((err as Error).message)) throw err;
      }
      this.known.add(m);
    }
  }

  /** Drop whole partitions of months older than `keepMonths` before `now` (retention). */
  async dropOlderThan(keepMonths: number, now = new Date()): Promise<string[]> {
    const cutoff = addMonths(monthOf(now), -keepMonths);
    const rows = await sql<{ name: string }>`
      SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       WHERE p.relname = 'usage_events' AND c.relname ~ '^usage_events_y[0-9]{4}m[0-9]{2}$'`.execute(this.db);
    const dropped: string[] = [];
    for (const { name } of rows.rows) {
      const month = `${name.slice(14, 18)}-${name.slice(19, 21)}`;
      if (month < cutoff) {
        await sql`DROP TABLE ${sql.table(name)}`.execute(this.db);
        this.known.delete(month);
        dropped.push(name);
      }
    }
    return dropped;
  }
}
