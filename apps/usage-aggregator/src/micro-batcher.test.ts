import { MicroBatcher } from "./micro-batcher";

test("flushes at maxSize, and each add settles with its own batch", async () => {
  const batches: number[][] = [];
  const b = new MicroBatcher<number>({ maxSize: 3, maxWaitMs: 10_000, flush: async (items) => void batches.push(items) });
  await Promise.all([1, 2, 3, 4, 5, 6].map((n) => b.add(n)));
  expect(batches).toEqual([
    [1, 2, 3],
    [4, 5, 6],
  ]);
});

test("flushes a partial batch after maxWaitMs", async () => {
  const batches: number[][] = [];
  const b = new MicroBatcher<number>({ maxSize: 100, maxWaitMs: 20, flush: async (items) => void batches.push(items) });
  const t0 = Date.now();
  await Promise.all([b.add(1), b.add(2)]);
  expect(batches).toEqual([[1, 2]]);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(15);
});

test("a failed flush rejects every add of that batch, and the next batch still runs", async () => {
  let fail = true;
  const b = new MicroBatcher<number>({
    maxSize: 2,
    maxWaitMs: 5,
    flush: async () => {
      if (fail) throw new Error("db down");
    },
  });
  const first = await Promise.allSettled([b.add(1), b.add(2)]);
  expect(first.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  fail = false;
  await expect(Promise.all([b.add(3), b.add(4)])).resolves.toEqual([undefined, undefined]);
});

test("batches never overlap", async () => {
  let running = 0;
  let maxRunning = 0;
  const b = new MicroBatcher<number>({
    maxSize: 1,
    maxWaitMs: 0,
    flush: async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
    },
  });
  await Promise.all(Array.from({ length: 10 }, (_, i) => b.add(i)));
  expect(maxRunning).toBe(1);
});

test("a flush that settles items one by one rejects only the items it names", async () => {
  const b = new MicroBatcher<number>({ maxSize: 4, maxWaitMs: 10_000, flush: async (items) => items.map((n) => (n % 2 ? new Error(`odd ${n}`) : undefined)) });
  const settled = await Promise.allSettled([1, 2, 3, 4].map((n) => b.add(n)));
  expect(settled.map((r) => (r.status === "fulfilled" ? "ok" : (r.reason as Error).message))).toEqual(["odd 1", "ok", "odd 3", "ok"]);
});

test("with maxInFlight, that many batches are written at once, started in the order they formed", async () => {
  let running = 0;
  let maxRunning = 0;
  const started: number[][] = [];
  const b = new MicroBatcher<number>({
    maxSize: 2,
    maxWaitMs: 10_000,
    maxInFlight: 2,
    flush: async (items) => {
      started.push(items);
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
    },
  });
  await Promise.all(Array.from({ length: 10 }, (_, i) => b.add(i)));
  expect(maxRunning).toBe(2);
  expect(started).toEqual([
    [0, 1],
    [2, 3],
    [4, 5],
    [6, 7],
    [8, 9],
  ]);
});

test("flushNow resolves only when every batch formed so far has settled, including those still waiting for a slot", async () => {
  const settled: number[] = [];
  const b = new MicroBatcher<number>({
    maxSize: 1,
    maxWaitMs: 10_000,
    maxInFlight: 2,
    flush: async (items) => void (await new Promise((r) => setTimeout(r, 5 * items[0]!)), settled.push(items[0]!)),
  });
  const adds = [3, 1, 2, 1, 2].map((n) => b.add(n));
  await b.flushNow();
  expect(settled.sort()).toEqual([1, 1, 2, 2, 3]);
  await Promise.all(adds);
});
