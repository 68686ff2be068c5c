/**
 * Collects items and flushes them together: when `maxSize` are waiting or `maxWaitMs` after the
 * first one arrived. Each `add` resolves (or rejects) with its batch, so a BullMQ job that awaits
 * it is acknowledged only after its batch committed. A `flush` that settles items one by one
 * returns one entry per item (`undefined`: done; anything else: that item's `add` rejects with
 * it); one that throws rejects the whole batch.
 *
 * Up to `maxInFlight` batches are written at once (default 1: one after another), so under load
 * the next batch is sent while the previous one is still committing; a batch formed while all of
 * them are busy waits its turn, in order.
 */
export class MicroBatcher<T> {
  private pending: Array<Entry<T>> = [];
  private timer: NodeJS.Timeout | null = null;
  /** Formed batches not yet started, oldest first. */
  private readonly ready: Array<{ batch: Array<Entry<T>>; start: () => void }> = [];
  /** Every batch formed and not yet settled. */
  private readonly unsettled = new Set<Promise<void>>();
  private running = 0;
  private readonly maxInFlight: number;

  constructor(private readonly opts: { maxSize: number; maxWaitMs: number; maxInFlight?: number; flush: (items: T[]) => Promise<void | readonly unknown[]> }) {
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 1);
  }

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.opts.maxSize) void this.flushNow();
      else this.timer ??= setTimeout(() => void this.flushNow(), this.opts.maxWaitMs);
    });
  }

  /** Form a batch of what is waiting now; resolves when every batch formed so far has settled. */
  flushNow(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) {
      let start!: () => void;
      const started = new Promise<void>((r) => (start = r));
      const done: Promise<void> = started
        .then(() => this.write(batch))
        .finally(() => {
          this.unsettled.delete(done);
          this.running--;
          this.next();
        });
      this.unsettled.add(done);
      this.ready.push({ batch, start });
      this.next();
    }
    return Promise.all([...this.unsettled]).then(() => undefined);
  }

  private next(): void {
    while (this.running < this.maxInFlight && this.ready.length > 0) {
      this.running++;
      this.ready.shift()!.start();
    }
  }

  private async write(batch: Array<Entry<T>>): Promise<void> {
    try {
      const outcomes = await this.opts.flush(batch.map((b) => b.item));
      batch.forEach((b, i) => {
        const err = outcomes?.[i];
        if (err === undefined) b.resolve();
        else b.reject(err);
      });
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }
}

interface Entry<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}
