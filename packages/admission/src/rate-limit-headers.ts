/** One request window as a client sees it after a decision. */
export interface RateLimitWindowState {
  /** Requests the window admits. */
  limit: number;
  /** Length of the sliding window, seconds. */
  windowSeconds: number;
  /** Requests still admissible now (after counting this request when it was admitted). */
  remaining: number;
  /** Seconds until the oldest request in the window leaves it and `remaining` grows; 0 when the window is empty. */
  resetSeconds: number;
}

/**
 * The window a client will run into first: the fewest requests remaining, and on a tie the one
 * that takes longest to recover. `undefined` for no windows.
 */
export function mostConstrainedWindow(windows: readonly RateLimitWindowState[]): RateLimitWindowState | undefined {
  let best: RateLimitWindowState | undefined;
  for (const w of windows) {
    if (!best || w.remaining < best.remaining || (w.remaining === best.remaining && w.resetSeconds > best.resetSeconds)) best = w;
  }
  return best;
}

/**
 * Rate-limit response headers in the IETF "RateLimit header fields for HTTP" draft's form, as many
 * APIs emit them:
 * - `RateLimit-Policy`: every request window, `limit;w=seconds`, comma separated, in the given order;
 * - `RateLimit`: the most constrained window, `limit=…, remaining=…, reset=…`;
 * - `Retry-After` (seconds) when `retryAfterSeconds` is given and ≥ 1. A rejection that waiting
 *   cannot cure (a request over `tokens_per_request`) passes 0 and gets no `Retry-After`.
 * With no windows, only `Retry-After` (if any) is set.
 */
export function rateLimitHeaders(windows: readonly RateLimitWindowState[], retryAfterSeconds?: number): Record<string, string> {
  const headers: Record<string, string> = {};
  const top = mostConstrainedWindow(windows);
  if (top) {
    headers["RateLimit-Policy"] = windows.map((w) => `${w.limit};w=${w.windowSeconds}`).join(", ");
    headers["RateLimit"] = `limit=${top.limit}, remaining=${Math.max(0, top.remaining)}, reset=${Math.max(0, top.resetSeconds)}`;
  }
  if (retryAfterSeconds !== undefined && retryAfterSeconds >= 1) headers["Retry-After"] = String(Math.ceil(retryAfterSeconds));
  return headers;
}
