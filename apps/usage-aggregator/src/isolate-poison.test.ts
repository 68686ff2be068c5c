import { isolatePoison } from "./isolate-poison";
import { classifyWriteError, type WriteErrorClass } from "./write-errors";

/** An error shaped like `pg`'s DatabaseError. */
const pgError = (code: string, message = `sqlstate ${code}`) => Object.assign(new Error(message), { code, severity: "ERROR" });

/** A stand-in for the ledger: a write is all-or-nothing and refused when it holds a bad item. */
function ledger(bad: (n: number) => Error | null) {
  const committed: number[] = [];
  const writes: number[][] = [];
  const poisoned: Array<[number, WriteErrorClass]> = [];
  return {
    committed,
    writes,
    poisoned,
    opts: {
      classify: classifyWriteError,
      write: async (items: number[]) => {
        writes.push(items);
        for (const n of items) {
          const err = bad(n);
          if (err) throw err;
        }
        committed.push(...items);
      },
      poison: async (n: number, why: WriteErrorClass) => void poisoned.push([n, why]),
    },
  };
}

test("one bad item among 31: the other 30 are written, the bad one is poisoned with its SQLSTATE", async () => {
  const items = Array.from({ length: 31 }, (_, i) => i);
  const l = ledger((n) => (n === 17 ? pgError("22P05", "unsupported Unicode escape sequence") : null));
  const results = await isolatePoison(items, l.opts);
  expect(results.every((r) => r === undefined)).toBe(true);
  expect([...l.committed].sort((a, b) => a - b)).toEqual(items.filter((n) => n !== 17));
  expect(l.poisoned).toEqual([[17, { kind: "data", sqlstate: "22P05", message: "unsupported Unicode escape sequence" }]]);
  // Bisection, not one transaction per item.
  expect(l.writes.length).toBeLessThan(2 * Math.ceil(Math.log2(31)) + 4);
});

test("several bad items of different kinds are each set aside; nothing good is lost", async () => {
  const items = Array.from({ length: 50 }, (_, i) => i);
  const bad = new Map<number, Error>([
    [3, pgError("22003", "numeric field overflow")],
    [4, pgError("23503", "violates foreign key constraint")],
    [40, pgError("54000", "index row size exceeds maximum")],
    [49, new RangeError("Invalid time value")],
  ]);
  const l = ledger((n) => bad.get(n) ?? null);
  const results = await isolatePoison(items, l.opts);
  expect(results.every((r) => r === undefined)).toBe(true);
  expect(l.poisoned.map(([n, why]) => [n, why.sqlstate])).toEqual([
    [3, "22003"],
    [4, "23503"],
    [40, "54000"],
    [49, null],
  ]);
  expect(l.committed.length).toBe(46);
});

test("a transient error stops the search: nothing is poisoned and every unwritten item fails with it", async () => {
  const items = Array.from({ length: 8 }, (_, i) => i);
  let down = false;
  const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
  const l = ledger((n) => (down ? refused : n === 6 ? pgError("22P05") : null));
  const write = l.opts.write;
  // Postgres goes away after the first half has been written.
  l.opts.write = async (batch) => {
    await write(batch);
    if (batch.length === 4) down = true;
  };
  const results = await isolatePoison(items, l.opts);
  expect(l.poisoned).toEqual([]);
  expect(l.committed).toEqual([0, 1, 2, 3]);
  expect(results.slice(0, 4)).toEqual([undefined, undefined, undefined, undefined]);
  expect(results.slice(4)).toEqual([refused, refused, refused, refused]);
});

test.each([
  ["connection refused", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })],
  ["a socket error with a five-letter code", Object.assign(new Error("write EPIPE"), { code: "EPIPE" })],
  ["connection terminated", new Error("Connection terminated unexpectedly")],
  ["admin shutdown", pgError("57P01")],
  ["starting up", pgError("57P03")],
  ["serialization failure", pgError("40001")],
  ["deadlock", pgError("40P01")],
  ["statement timeout", pgError("57014")],
  ["too many connections", pgError("53300")],
])("%s is transient: the batch is retried, never dead-lettered", (_name, err) => {
  expect(classifyWriteError(err).kind).toBe("transient");
});

test.each([
  ["NUL in jsonb", pgError("22P05")],
  ["numeric overflow", pgError("22003")],
  ["bad timestamp", pgError("22007")],
  ["check violation (no partition)", pgError("23514")],
  ["foreign key", pgError("23503")],
  ["index row too big", pgError("54000")],
  ["our own amount check", new RangeError("amountUsd must be a finite amount below 1000000000 USD")],
])("%s is a data error", (_name, err) => {
  expect(classifyWriteError(err)).toMatchObject({ kind: "data" });
});

test("an item that fails alone once and then succeeds (a race, not bad data) is written, not poisoned", async () => {
  let first = true;
  const l = ledger((n) => {
    if (n === 1 && first) {
      first = false;
      return pgError("23505", "duplicate key value violates unique constraint pg_type_typname_nsp_index");
    }
    return null;
  });
  // A batch of one: the lone failure is confirmed before anything is set aside.
  expect(await isolatePoison([1], l.opts)).toEqual([undefined]);
  expect(l.poisoned).toEqual([]);
  expect(l.committed).toEqual([1]);
});

test("a dead letter that cannot be written leaves its item failed, to be retried", async () => {
  const l = ledger((n) => (n === 2 ? pgError("22P05") : null));
  const down = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
  l.opts.poison = async () => {
    throw down;
  };
  const results = await isolatePoison([1, 2, 3], l.opts);
  expect(results[1]).toBe(down);
});
