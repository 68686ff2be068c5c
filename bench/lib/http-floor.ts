/**
 * The floor under phase (a) of `bench/gateway-overhead.ts`: a bare `node:http` server in its own
 * process (the same Node as the gateway) that reads a `POST /v1/jobs` body, parses the JSON and
 * answers 202 with a small job object, with no Redis, no validation, no auth and no framework.
 * Driven by the same client, pool, body and concurrency as the gateway, it shows what any HTTP
 * front written in Node costs on this machine before it admits anything: its jobs/s ÷ raw
 * `Queue.add` is the highest P1 a Node gateway could reach here, its CPU per request ÷ the raw
 * client's CPU per add the lowest P1b.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";

const SERVER = `
const http = require("node:http");
let n = 0;
const server = http.createServer((req, res) => {
  const parts = [];
  req.on("data", (c) => parts.push(c));
  req.on("end", () => {
    let body;
    try { body = JSON.parse(Buffer.concat(parts).toString("utf8")); } catch { res.writeHead(400).end(); return; }
    const out = JSON.stringify({ id: "job_" + (n++).toString(36), object: "job", status: "queued", model: body.model ?? null });
    res.writeHead(202, { "content-type": "application/json", "content-length": Buffer.byteLength(out) });
    res.end(out);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => process.stdout.write(server.address().port + "\\n"));
`;

/** Starts the bare server on a free loopback port; `stop` kills it. */
export async function startHttpFloor(): Promise<{ url: string; pid: number | undefined; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ["-e", SERVER], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("bare HTTP server did not start in 10 s")), 10_000);
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString("utf8");
      if (out.includes("\n")) {
        clearTimeout(timer);
        resolve(Number(out.trim()));
      }
    });
    child.once("exit", (code) => reject(new Error(`bare HTTP server exited (${code})`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}
