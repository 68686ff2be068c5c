/**
 * A minimal Chrome DevTools Protocol session with a node process started with
 * `--inspect=127.0.0.1:<port>`, for benches that must read a process's memory at a known point:
 * a full garbage collection (`HeapProfiler.collectGarbage`) before reading its RSS, so the
 * figure is what the process holds, not how far its last collection happened to be behind.
 */
export class InspectorSession {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener("message", (ev) => {
      const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string } };
      if (msg.id === undefined) return;
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.error) w.reject(new Error(msg.error.message));
      else w.resolve(msg.result);
    });
    ws.addEventListener("close", () => {
      for (const w of this.waiting.values()) w.reject(new Error("inspector connection closed"));
      this.waiting.clear();
    });
  }

  /** Connect to the first target of the inspector listening on `port` (loopback). */
  static async connect(port: number, timeoutMs = 10_000): Promise<InspectorSession> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const list = await fetch(`http://127.0.0.1:${port}/json/list`)
        .then((r) => r.json() as Promise<Array<{ webSocketDebuggerUrl?: string }>>)
        .catch(() => null);
      const url = list?.find((t) => t.webSocketDebuggerUrl)?.webSocketDebuggerUrl;
      if (url) {
        const ws = new WebSocket(url);
        await new Promise<void>((resolve, reject) => {
          ws.addEventListener("open", () => resolve(), { once: true });
          ws.addEventListener("error", () => reject(new Error(`inspector at ${url}: connection failed`)), { once: true });
        });
        return new InspectorSession(ws);
      }
      if (Date.now() > deadline) throw new Error(`no inspector target on 127.0.0.1:${port} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  send<T>(method: string, params: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`inspector: no answer to ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** A full, compacting garbage collection in the target. */
  async collectGarbage(): Promise<void> {
    await this.send("HeapProfiler.collectGarbage");
  }

  /** The target's `process.memoryUsage()` (bytes). */
  async memoryUsage(): Promise<NodeJS.MemoryUsage> {
    const r = await this.send<{ result: { value: string } }>("Runtime.evaluate", { expression: "JSON.stringify(process.memoryUsage())", returnByValue: true });
    return JSON.parse(r.result.value) as NodeJS.MemoryUsage;
  }

  close(): void {
    this.ws.close();
  }
}

/** Least-squares slope of y over x (NaN with fewer than two distinct x). */
export function slope(points: Array<{ x: number; y: number }>): number {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}
