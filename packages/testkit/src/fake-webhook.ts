import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the fake webhook received. */
export interface WebhookRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The body exactly as sent (what a signature is computed over). */
  rawBody: string;
  /** `Date.now()` when the whole body had arrived. */
  receivedAt: number;
  /** The status the fake answered. */
  status: number;
}

/** Options of {@link startFakeWebhook}. */
export interface FakeWebhookOptions {
  /** The first this-many requests are answered `failStatus`. Default 0. */
  failFirst?: number;
  /** Status of a failed answer. Default 500. */
  failStatus?: number;
}

/** A running fake webhook receiver on loopback. */
export interface FakeWebhook {
  /** `http://127.0.0.1:<port>/hook`. */
  url: string;
  /** Every request so far, in arrival order (failed ones included). */
  requests: WebhookRequest[];
  /** Answer the next `n` requests with the failure status (replaces what was left of the count). */
  failNext(n: number): void;
  close(): Promise<void>;
}

/**
 * A loopback HTTP server standing in for an alert webhook receiver: records every request's
 * headers, raw body and arrival time, answers 200 `{"ok":true}`, or the failure status while a
 * failure count lasts (`failFirst`, {@link FakeWebhook.failNext}).
 */
export async function startFakeWebhook(opts: FakeWebhookOptions = {}): Promise<FakeWebhook> {
  let failing = Math.max(0, Math.floor(opts.failFirst ?? 0));
  const failStatus = opts.failStatus ?? 500;
  const requests: WebhookRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const status = failing > 0 ? failStatus : 200;
      if (failing > 0) failing--;
      requests.push({
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        rawBody: Buffer.concat(chunks).toString("utf8"),
        receivedAt: Date.now(),
        status,
      });
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(status === 200 ? { ok: true } : { error: "fake webhook failure" }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    failNext: (n) => void (failing = Math.max(0, Math.floor(n))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
