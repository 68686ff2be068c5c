import type { WriteErrorClass } from "./write-errors";

export interface IsolateOptions<T> {
  /** Write these items in one transaction: all of them or none. */
  write(items: T[]): Promise<void>;
  classify(err: unknown): WriteErrorClass;
  /** Set aside an item that fails alone with a data error; the item then counts as done. */
  poison(item: T, why: WriteErrorClass): Promise<void>;
}

/**
 * Write `items` so that one bad item cannot hold the others back. The whole batch is tried first
 * (the common case: one transaction). When it fails with a data error, it is split in halves and
 * each half tried on its own, down to single items; an item that fails alone with a data error,
 * twice (so a race such as two processes creating one partition is not taken for bad data), goes
 * to `poison`. One bad item in n costs about 2·log2(n) extra transactions.
 *
 * A transient error stops the search: Postgres is not answering, so every item not yet written
 * fails with that error and is retried later as a whole, never poisoned.
 *
 * Returns one entry per item: `undefined` when it was written (or poisoned), else the error to
 * fail it with.
 */
export async function isolatePoison<T>(items: readonly T[], o: IsolateOptions<T>): Promise<unknown[]> {
  const results: unknown[] = new Array(items.length).fill(undefined);
  let stop: unknown = null;
  // Ranges [lo, hi) still to write, depth first, in order.
  const todo: Array<[number, number]> = items.length ? [[0, items.length]] : [];
  const fail = (lo: number, hi: number, err: unknown) => results.fill(err, lo, hi);
  while (todo.length) {
    const [lo, hi] = todo.shift()!;
    if (stop !== null) {
      fail(lo, hi, stop);
      continue;
    }
    let why: WriteErrorClass;
    try {
      await o.write(items.slice(lo, hi));
      continue;
    } catch (err) {
      why = o.classify(err);
      if (why.kind === "transient") {
        stop = err;
        fail(lo, hi, err);
        continue;
      }
      if (hi - lo > 1) {
        const mid = lo + Math.ceil((hi - lo) / 2);
        todo.unshift([lo, mid], [mid, hi]);
        continue;
      }
    }
    // One item refused for its data: confirm once, then set it aside.
    const item = items[lo]!;
    try {
      await o.write([item]);
      continue;
    } catch (err) {
      why = o.classify(err);
      if (why.kind === "transient") {
        stop = err;
        fail(lo, hi, err);
        continue;
      }
    }
    try {
      await o.poison(item, why);
    } catch (err) {
      // The dead letter could not be written either: the item stays in the queue and is retried.
      results[lo] = err;
      if (o.classify(err).kind === "transient") stop = err;
    }
  }
  return results;
}
