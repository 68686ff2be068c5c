/**
 * Crash-test fault points, shared by the apps that have them (router-worker, gateway): a spec
 * `name:N,name:N` (N ≥ 1, default 1) names places where the process kills itself (SIGKILL) the
 * Nth time it gets there, between two writes a crash could split. Unset in production: the hook
 * is then a no-op.
 */

/**
 * Parse `name:N,name:N` against the points `known`. Throws on an unknown name or a bad count,
 * listing the known points.
 */
export function parseFaultSpec<P extends string>(spec: string, known: readonly P[]): Map<P, number> {
  const out = new Map<P, number>();
  for (const part of spec
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name, count = "1"] = part.split(":");
    if (!(known as readonly string[]).includes(name!)) throw new Error(`unknown fault point "${name}" (known: ${known.join(", ")})`);
    const n = Number(count);
    if (!Number.isInteger(n) || n < 1) throw new Error(`fault point ${name}: count must be a positive integer, got "${count}"`);
    out.set(name as P, n);
  }
  return out;
}

/**
 * The fault hook: with no points configured it does nothing; else it counts how often each
 * configured point is reached and calls `kill` (default: SIGKILL to this process, so nothing
 * after the point runs — no `finally`, no shutdown hook) on the Nth time.
 */
export function faultHook<P extends string>(
  points: ReadonlyMap<P, number>,
  kill: (point: P) => void = () => process.kill(process.pid, "SIGKILL"),
): (point: P) => void {
  if (points.size === 0) return () => undefined;
  const reached = new Map<P, number>();
  return (point) => {
    const at = points.get(point);
    if (at === undefined) return;
    const n = (reached.get(point) ?? 0) + 1;
    reached.set(point, n);
    if (n === at) kill(point);
  };
}
