import http from "node:http";

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long (ms). */
  timeoutMs: number;
  /** Pause between attempts (ms, default 250). */
  intervalMs?: number;
  /** Stop early when this signal aborts (e.g. a child died). */
  signal?: AbortSignal;
  /** What is awaited, for the timeout message. */
  what: string;
}

/** Poll `probe` until it returns a value other than undefined; throws on timeout or abort. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, opts: WaitForOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (opts.signal?.aborted) throw new Error(`gave up waiting for ${opts.what}: ${String(opts.signal.reason)}`);
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}`);
    await sleep(opts.intervalMs ?? 250);
  }
}

/** Status code of a GET to `url`, or undefined when nothing answered within `timeoutMs`. */
export function httpStatus(url: string, timeoutMs = 2000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
  });
}

/** `promise`, or a rejection with `message` after `ms` (the timer is cleared either way). */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
