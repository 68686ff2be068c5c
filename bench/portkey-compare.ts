/**
 * Issue 13, P2: `POST /v1/chat/completions` (non-stream) through Switchyard (gateway → queue →
 * router-worker → upstream) vs the Portkey gateway (npm `@portkey-ai/gateway`, a dev dependency
 * of this bench package only), both in front of the same mock OpenAI upstream that answers after
 * a fixed delay. Goals: Switchyard ≥ 2× Portkey's req/s at 50 connections; Switchyard's added p50
 * at 200 req/s open loop ≤ Portkey's.
 *
 * Three targets, measured in the same run on the same mock:
 *   direct      the mock itself (the baseline: what the upstream delay alone gives);
 *   portkey     Portkey → mock (`x-portkey-provider: openai`, `x-portkey-custom-host: <mock>/v1`);
 *   switchyard  gateway `/v1/chat/completions` → BullMQ → router-worker → mock (the worker calls
 *               the upstream with `stream: true` and the gateway assembles the completion).
 * Two measurements per target, each after a warm-up on the same connection pool:
 *   closed loop  BENCH_CONNECTIONS callers, each sending its next request when the last ended,
 *                for BENCH_CLOSED_SECONDS or BENCH_CLOSED_MAX_REQUESTS: req/s, p50/p99, errors;
 *   open loop    BENCH_OPEN_RATE arrivals/s on a fixed schedule (bench/lib/open-loop.ts) for
 *                BENCH_OPEN_SECONDS: latency from each request's due time, and the added latency
 *                (target p50/p99 − direct p50/p99 of the same open loop).
 * Rounds (BENCH_ROUNDS) run direct first, then Portkey and Switchyard in alternating order; the
 * figures pool every round. Every answer must be a 200 whose body is a complete chat.completion
 * carrying the mock's text and usage; anything else is an error (the first one is printed). The
 * mock counts the upstream calls, so a target that answered without calling it would show.
 *
 * The mock runs in its own process (this file with `--mock-upstream`), so the load generator's
 * event loop cannot delay its timers. It is not testkit's fake-openai: that one keeps every
 * request in memory (10^5 of them here) and does per-request work (prompt token counts, tool and
 * logprobs checks, fault modes) a fixed-cost upstream should not.
 * Portkey runs as `npx @portkey-ai/gateway` would start it: `node <its bin> --port=<free port>
 * --headless` (headless drops the log-viewer UI and console spinner, not any request work).
 * Switchyard runs as the integration tests start it (startStack: fresh database and Redis prefix,
 * demo deployment with raised rate limits, apps at LOG_LEVEL=warn) from the working tree.
 *
 * Besides latency, each run reports CPU ms per successful request: the target's processes
 * (Portkey's one; Switchyard's gateway, router-worker and usage-aggregator) "+pg" Switchyard's
 * Postgres backends "+redis" the Redis server's (shared with anything else using it), and the
 * machine's busy CPUs and those used outside this bench ("busy/outside"): a contended machine
 * depresses throughput and inflates latency, while CPU per request moves much less.
 *
 * Options (env):
 *   BENCH_UPSTREAM_DELAY_MS=50      the mock's delay before answering (stream or not)
 *   BENCH_CONNECTIONS=50            closed-loop callers (= connections)
 *   BENCH_CLOSED_SECONDS=15 BENCH_CLOSED_MAX_REQUESTS=6000 BENCH_WARMUP_REQUESTS=300
 *   BENCH_OPEN_RATE=200 BENCH_OPEN_SECONDS=10 BENCH_OPEN_WARMUP_SECONDS=2
 *   BENCH_OPEN_MAX_INFLIGHT=400     arrivals beyond this many outstanding are dropped and counted
 *   BENCH_ROUNDS=2                  BENCH_TARGETS=direct,portkey,switchyard
 *   BENCH_ROUTER_CONCURRENCY=100    router-worker ROUTER_CONCURRENCY (its default, 32, would
 *                                   serialise 50 connections)
 *   BENCH_REQUEST_TIMEOUT_MS=30000  per request   BENCH_TIMEOUT_SECONDS=300 (whole run)
 *   BENCH_OUT=bench/out/portkey-compare.json
 * Run: `pnpm bench:portkey` (= `pnpm exec tsx bench/portkey-compare.ts`). Needs Redis and Postgres
 * as the integration tests do (REDIS_URL / TEST_REDIS_URL, TEST_DATABASE_URL); loopback only.
 * Client, mock, Portkey, Switchyard, Redis and Postgres share this machine's CPUs.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { createRedis, type Redis } from "@switchyard/queue";
import { freePort, startStack, type Stack } from "@switchyard/testkit";
import { Pool } from "undici";
import { envInt, runBench, writeOneModelCatalog, writeResult } from "./lib/bench-env";
import { runClosedLoop } from "./lib/closed-loop";
import { runOpenLoop } from "./lib/open-loop";
import { processTreeCpuMs, selfCpuMs } from "./lib/proc-cpu";
import { round, summarize, table, type Summary } from "./lib/stats";

const REPO_ROOT = path.resolve(__dirname, "..");
const PORTKEY_DIR = path.join(__dirname, "node_modules", "@portkey-ai", "gateway");
const MODEL_ID = "bench-openai";
const UPSTREAM_MODEL = "gpt-4o-mini";
const API_KEY = "sk-fake";
/** What the mock answers, in pieces when streamed; every target must hand back exactly this. */
const REPLY_PIECES = ["Hello", " from", " the", " mock", " upstream", "."];
const REPLY = REPLY_PIECES.join("");
const USAGE = { prompt_tokens: 12, completion_tokens: REPLY_PIECES.length, total_tokens: 12 + REPLY_PIECES.length };

type TargetName = "direct" | "portkey" | "switchyard";
const TARGETS: readonly TargetName[] = ["direct", "portkey", "switchyard"];

function readConfig() {
  const targets = (process.env.BENCH_TARGETS ?? TARGETS.join(","))
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const t of targets) if (!TARGETS.includes(t as TargetName)) throw new Error(`BENCH_TARGETS: unknown target ${t} (known: ${TARGETS.join(", ")})`);
  if (!targets.includes("direct")) throw new Error("BENCH_TARGETS must include direct (the baseline the added latency is measured against)");
  return {
    upstreamDelayMs: envInt("BENCH_UPSTREAM_DELAY_MS", 50, 0),
    connections: envInt("BENCH_CONNECTIONS", 50),
    closedMs: envInt("BENCH_CLOSED_SECONDS", 15) * 1000,
    closedMax: envInt("BENCH_CLOSED_MAX_REQUESTS", 6000),
    warmupRequests: envInt("BENCH_WARMUP_REQUESTS", 300, 0),
    openRate: envInt("BENCH_OPEN_RATE", 200),
    openMs: envInt("BENCH_OPEN_SECONDS", 10) * 1000,
    openWarmupMs: envInt("BENCH_OPEN_WARMUP_SECONDS", 2, 0) * 1000,
    openMaxInFlight: envInt("BENCH_OPEN_MAX_INFLIGHT", 400),
    rounds: envInt("BENCH_ROUNDS", 2),
    targets: TARGETS.filter((t) => targets.includes(t)),
    routerConcurrency: envInt("BENCH_ROUTER_CONCURRENCY", 100),
    requestTimeoutMs: envInt("BENCH_REQUEST_TIMEOUT_MS", 30_000, 100),
    timeoutMs: envInt("BENCH_TIMEOUT_SECONDS", 300) * 1000,
    out: path.resolve(REPO_ROOT, process.env.BENCH_OUT ?? "bench/out/portkey-compare.json"),
  };
}
type Config = ReturnType<typeof readConfig>;

// ---------------------------------------------------------------------------------------------
// The mock upstream (child process)
// ---------------------------------------------------------------------------------------------

/** Counters the mock serves on `GET /_stats`. */
interface MockStats {
  chat: number;
  stream: number;
  non_stream: number;
  rejected: number;
}

function openaiError(res: ServerResponse, status: number, message: string, param: string | null = null): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ error: { message, type: "invalid_request_error", param, code: null } }));
}

/**
 * `POST /v1/chat/completions` answered after `delayMs` (from the end of the request body), whole:
 * a non-stream request gets a chat.completion, a streamed one every chunk at once (role, one per
 * reply piece, finish, usage when asked, `[DONE]`), so both modes cost the same upstream time.
 */
function runMockUpstream(delayMs: number): void {
  const stats: MockStats = { chat: 0, stream: 0, non_stream: 0, rejected: 0 };
  let seq = 0;
  const answer = (res: ServerResponse, body: { model: string; stream?: unknown; stream_options?: { include_usage?: unknown } }): void => {
    const id = `chatcmpl-mock${++seq}`;
    const created = Math.floor(Date.now() / 1000);
    const base = { id, created, model: body.model, system_fingerprint: "fp_mock", service_tier: "default" };
    if (body.stream !== true) {
      stats.non_stream++;
      const json = JSON.stringify({
        ...base,
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content: REPLY, refusal: null, annotations: [] }, logprobs: null, finish_reason: "stop" }],
        usage: USAGE,
      });
      res.writeHead(200, { "content-type": "application/json", "x-request-id": id });
      res.end(json);
      return;
    }
    stats.stream++;
    const includeUsage = body.stream_options?.include_usage === true;
    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      JSON.stringify({
        ...base,
        object: "chat.completion.chunk",
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
        ...(includeUsage ? { usage: null } : {}),
      });
    const events = [
      chunk({ role: "assistant", content: "", refusal: null }, null),
      ...REPLY_PIECES.map((p) => chunk({ content: p }, null)),
      chunk({}, "stop"),
      ...(includeUsage ? [JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [], usage: USAGE })] : []),
      "[DONE]",
    ];
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-request-id": id });
    res.end(events.map((e) => `data: ${e}\n\n`).join(""));
  };
  const server = createServer({ keepAliveTimeout: 65_000 }, (req: IncomingMessage, res: ServerResponse) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      const url = (req.url ?? "/").split("?")[0];
      if (req.method === "GET" && url === "/_stats") {
        res.writeHead(200, { "content-type": "application/json" });
        return void res.end(JSON.stringify(stats));
      }
      if (req.method !== "POST" || url !== "/v1/chat/completions") {
        stats.rejected++;
        return openaiError(res, 404, `Unknown request URL: ${req.method} ${url}.`);
      }
      stats.chat++;
      const auth = req.headers.authorization ?? "";
      if (auth !== `Bearer ${API_KEY}`) {
        stats.rejected++;
        res.writeHead(401, { "content-type": "application/json" });
        return void res.end(
          JSON.stringify({ error: { message: "Incorrect API key provided.", type: "invalid_request_error", param: null, code: "invalid_api_key" } }),
        );
      }
      let body: { model?: unknown; messages?: unknown; stream?: unknown; stream_options?: { include_usage?: unknown } };
      try {
        body = JSON.parse(Buffer.concat(parts).toString("utf8")) as typeof body;
      } catch {
        stats.rejected++;
        return openaiError(res, 400, "We could not parse the JSON body of your request.");
      }
      if (typeof body.model !== "string") return (stats.rejected++, openaiError(res, 400, "you must provide a model parameter", "model"));
      if (!Array.isArray(body.messages) || body.messages.length === 0)
        return (stats.rejected++, openaiError(res, 400, "Invalid 'messages': empty array.", "messages"));
      const model = body.model;
      setTimeout(() => answer(res, { ...body, model }), delayMs);
    });
  });
  server.headersTimeout = 66_000;
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`mock-upstream listening ${(server.address() as AddressInfo).port}\n`);
  });
  // Dies with its parent: a closed stdin means the bench is gone.
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
  process.on("SIGTERM", () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------------------------

interface Child {
  label: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<unknown>;
}

const children = new Set<Child>();

/** Spawns a child whose output is kept (last 64 kB) and which is killed when the bench exits. */
function spawnChild(label: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Child {
  const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 65_536) out = out.slice(-65_536);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const c: Child = { label, child, output: () => out, exited };
  children.add(c);
  void exited.then(() => children.delete(c));
  return c;
}

async function stopChild(c: Child, graceMs = 5000): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return;
  c.child.kill("SIGTERM");
  const gone = await Promise.race([c.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs).unref())]);
  if (!gone) c.child.kill("SIGKILL");
}

async function waitFor(what: string, c: Child, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (c.child.exitCode !== null || c.child.signalCode !== null) throw new Error(`${what} exited before it was ready:\n${c.output().slice(-2000)}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready within ${timeoutMs} ms:\n${c.output().slice(-2000)}`);
}

async function startMock(delayMs: number): Promise<{ child: Child; url: string; stats(): Promise<MockStats> }> {
  const c = spawnChild("mock-upstream", process.execPath, ["--import", "tsx", __filename, "--mock-upstream", String(delayMs)]);
  let port = 0;
  await waitFor(
    "mock upstream",
    c,
    async () => {
      const m = /mock-upstream listening (\d+)/.exec(c.output());
      if (m) port = Number(m[1]);
      return port > 0;
    },
    30_000,
  );
  const origin = `http://127.0.0.1:${port}`;
  return {
    child: c,
    url: origin,
    async stats() {
      const res = await fetch(`${origin}/_stats`, { signal: AbortSignal.timeout(5000) });
      return (await res.json()) as MockStats;
    },
  };
}

/** Portkey as `npx @portkey-ai/gateway` starts it (its bin under node), on a free loopback port. */
async function startPortkey(): Promise<{ child: Child; url: string; version: string }> {
  const pkg = JSON.parse(readFileSync(path.join(PORTKEY_DIR, "package.json"), "utf8")) as { version: string; bin: string | Record<string, string> };
  const bin = typeof pkg.bin === "string" ? pkg.bin : Object.values(pkg.bin)[0]!;
  const port = await freePort();
  // --headless: no log-viewer UI and no console spinner; the request path is the same.
  const c = spawnChild("portkey", process.execPath, [path.join(PORTKEY_DIR, bin), `--port=${port}`, "--headless"]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor("portkey", c, async () => (await fetch(`${url}/`, { signal: AbortSignal.timeout(2000) })).ok, 30_000);
  return { child: c, url, version: pkg.version };
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

interface Target {
  name: TargetName;
  origin: string;
  headers: Record<string, string>;
  model: string;
  /** Processes that serve this target (CPU is summed over them and their children). */
  pids: number[];
}

/** Why a body is not the complete chat.completion the mock's answer should have become; null when it is. */
function completionProblem(body: unknown): string | null {
  if (typeof body !== "object" || body === null) return "body is not a JSON object";
  const b = body as Record<string, unknown>;
  if (b.object !== "chat.completion") return `object is ${JSON.stringify(b.object)}`;
  if (typeof b.id !== "string" || b.id === "") return "no id";
  if (typeof b.created !== "number" || !Number.isInteger(b.created)) return "created is not an integer";
  if (typeof b.model !== "string" || b.model === "") return "no model";
  if (!Array.isArray(b.choices) || b.choices.length !== 1) return "choices is not one item";
  const c = b.choices[0] as Record<string, unknown>;
  const m = c.message as Record<string, unknown> | undefined;
  if (c.index !== 0) return "choices[0].index is not 0";
  if (m?.role !== "assistant") return "message.role is not assistant";
  if (m.content !== REPLY) return `message.content is ${JSON.stringify(m.content)}, the mock said ${JSON.stringify(REPLY)}`;
  if (c.finish_reason !== "stop") return `finish_reason is ${JSON.stringify(c.finish_reason)}`;
  if (!("logprobs" in c) || c.logprobs !== null) return "choices[0].logprobs is not null";
  const u = b.usage as Record<string, unknown> | undefined;
  if (u?.prompt_tokens !== USAGE.prompt_tokens || u.completion_tokens !== USAGE.completion_tokens || u.total_tokens !== USAGE.total_tokens) {
    return `usage ${JSON.stringify(u)} is not the mock's ${JSON.stringify(USAGE)}`;
  }
  return null;
}

/** A request function on one pool; non-200s and bodies that fail {@link completionProblem} throw. */
function requester(t: Target, pool: Pool, statuses: Record<string, number>) {
  const headers = { ...t.headers, "content-type": "application/json" };
  return async (i: number): Promise<void> => {
    const body = JSON.stringify({ model: t.model, messages: [{ role: "user", content: `bench ${t.name} ${i}: say hello` }] });
    const res = await pool.request({ method: "POST", path: "/v1/chat/completions", headers, body });
    const text = await res.body.text();
    statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
    if (res.statusCode !== 200) throw new Error(`${t.name}: HTTP ${res.statusCode} ${text.slice(0, 400)}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${t.name}: 200 with a body that is not JSON: ${text.slice(0, 200)}`);
    }
    const problem = completionProblem(json);
    if (problem) throw new Error(`${t.name}: 200 but ${problem}: ${text.slice(0, 300)}`);
  };
}

const newPool = (t: Target, connections: number, cfg: Config) =>
  new Pool(t.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: cfg.requestTimeoutMs, bodyTimeout: cfg.requestTimeoutMs });

/** Closes a pool, aborting whatever is still outstanding after a short wait (a stuck request must not hold the bench). */
async function closePool(pool: Pool): Promise<void> {
  const closed = await Promise.race([pool.close().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref())]);
  if (!closed) await pool.destroy().catch(() => undefined);
}

function cpuMs(pids: number[]): number | null {
  let total = 0;
  for (const pid of pids) {
    const v = processTreeCpuMs(pid);
    if (v === null) return null;
    total += v;
  }
  return total;
}

/** Busy and total jiffies of the whole machine, from /proc/stat (null where there is none). */
function machineTicks(): { busy: number; total: number } | null {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
  } catch {
    return null;
  }
}

/** CPU (ms) of the Postgres backends serving database `db` (found by their process title), or null off Linux. */
function postgresCpuMs(db: string): number | null {
  let total = 0;
  try {
    for (const e of readdirSync("/proc")) {
      if (!/^\d+$/.test(e)) continue;
      let cmd: string;
      try {
        cmd = readFileSync(`/proc/${e}/cmdline`, "utf8");
      } catch {
        continue; // exited meanwhile
      }
      if (cmd.startsWith("postgres:") && cmd.includes(` ${db} `)) total += processTreeCpuMs(Number(e)) ?? 0;
    }
  } catch {
    return null;
  }
  return total;
}

/** Redis server CPU (user + sys) so far, ms; the server is shared, so this is indicative. */
async function redisCpuMs(redis: Redis | null): Promise<number | null> {
  if (!redis) return null;
  const info = await redis.info("cpu").catch(() => "");
  const user = /used_cpu_user:([\d.]+)/.exec(info)?.[1];
  const sys = /used_cpu_sys:([\d.]+)/.exec(info)?.[1];
  return user && sys ? (Number(user) + Number(sys)) * 1000 : null;
}

/** What the phases share: the mock, and every process this bench started (for CPU accounting). */
interface Ctx {
  cfg: Config;
  mock: Awaited<ReturnType<typeof startMock>>;
  /** The mock, Portkey and Switchyard's apps. */
  benchPids: number[];
  /** Switchyard's database (its Postgres backends' CPU is Switchyard's) and a Redis connection for INFO. */
  database: string | null;
  redis: Redis | null;
}

/**
 * Runs `fn`, and reports what the upstream saw and where CPU went meanwhile: the target's own
 * processes, the mock, this client, and the machine as a whole. `outside_cpus` is the CPU (in
 * CPUs, averaged) spent by processes this bench did not start (Switchyard's Postgres backends
 * count as started): the shared Redis server and whatever else runs on the machine; a large
 * figure there means the run was contended.
 */
async function observed<T extends { ok: number }>(t: Target, ctx: Ctx, fn: () => Promise<T>) {
  const sy = t.name === "switchyard";
  const snap = async () => ({
    up: await ctx.mock.stats(),
    cpu: cpuMs(t.pids),
    pg: sy && ctx.database ? postgresCpuMs(ctx.database) : null,
    redis: sy ? await redisCpuMs(ctx.redis) : null,
    mockCpu: cpuMs([ctx.mock.child.child.pid!]),
    self: selfCpuMs(),
    bench: cpuMs(ctx.benchPids),
    machine: machineTicks(),
    at: performance.now(),
  });
  const before = await snap();
  const r = await fn();
  const after = await snap();
  const per = (a: number | null, b: number | null) => (a === null || b === null || r.ok === 0 ? null : round((b - a) / r.ok, 3));
  const wallMs = after.at - before.at;
  const ncpu = os.cpus().length;
  const busyCpus =
    before.machine && after.machine ? ((after.machine.busy - before.machine.busy) / Math.max(1, after.machine.total - before.machine.total)) * ncpu : null;
  // Switchyard's Postgres backends are this bench's too (Redis is a shared server: not subtracted).
  const pgMs = before.pg === null || after.pg === null ? 0 : after.pg - before.pg;
  const benchCpus = before.bench === null || after.bench === null ? null : (after.bench - before.bench + after.self - before.self + pgMs) / wallMs;
  return {
    r,
    upstream: {
      calls: after.up.chat - before.up.chat,
      stream: after.up.stream - before.up.stream,
      non_stream: after.up.non_stream - before.up.non_stream,
      rejected: after.up.rejected - before.up.rejected,
    },
    cpu_ms_per_ok: {
      /** Portkey's process, or Switchyard's three apps. */
      target: t.name === "direct" ? null : per(before.cpu, after.cpu),
      /** Switchyard's Postgres backends. */
      postgres: per(before.pg, after.pg),
      /** The Redis server, shared with anything else that uses it. */
      redis_shared: per(before.redis, after.redis),
      mock: per(before.mockCpu, after.mockCpu),
      client: per(before.self, after.self),
    },
    machine: {
      cpus: ncpu,
      busy_cpus: busyCpus === null ? null : round(busyCpus),
      bench_cpus: benchCpus === null ? null : round(benchCpus),
      outside_cpus: busyCpus === null || benchCpus === null ? null : round(busyCpus - benchCpus),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Phases
// ---------------------------------------------------------------------------------------------

async function closedPhase(t: Target, ctx: Ctx) {
  const cfg = ctx.cfg;
  const pool = newPool(t, cfg.connections, cfg);
  const statuses: Record<string, number> = {};
  const op = requester(t, pool, statuses);
  try {
    const w = await runClosedLoop({ total: cfg.warmupRequests, concurrency: cfg.connections, timeLimitMs: cfg.closedMs, op: (i) => op(1_000_000 + i) });
    const warmupStatuses = { ...statuses };
    for (const k of Object.keys(statuses)) delete statuses[k];
    const o = await observed(t, ctx, () => runClosedLoop({ total: cfg.closedMax, concurrency: cfg.connections, timeLimitMs: cfg.closedMs, op }));
    return {
      target: t.name,
      ok: o.r.ok,
      errors: o.r.failed,
      first_errors: o.r.errors,
      statuses: { ...statuses },
      timed_out: o.r.timedOut,
      elapsed_ms: round(o.r.elapsedMs),
      req_per_s: round(o.r.ok / (o.r.elapsedMs / 1000), 1),
      latency_ms: summarize(o.r.latencies),
      latencies: o.r.latencies,
      upstream: o.upstream,
      cpu_ms_per_ok: o.cpu_ms_per_ok,
      machine: o.machine,
      warmup: { ok: w.ok, errors: w.failed, first_errors: w.errors, statuses: warmupStatuses },
    };
  } finally {
    await closePool(pool);
  }
}

async function openPhase(t: Target, ctx: Ctx) {
  const cfg = ctx.cfg;
  const pool = newPool(t, cfg.openMaxInFlight, cfg);
  const statuses: Record<string, number> = {};
  const op = requester(t, pool, statuses);
  const run = (ms: number, offset: number) =>
    runOpenLoop({
      ratePerSecond: cfg.openRate,
      durationMs: ms,
      maxInFlight: cfg.openMaxInFlight,
      drainTimeoutMs: cfg.requestTimeoutMs,
      op: (i) => op(offset + i),
    });
  try {
    const w = cfg.openWarmupMs > 0 ? await run(cfg.openWarmupMs, 2_000_000) : null;
    const warmupStatuses = { ...statuses };
    for (const k of Object.keys(statuses)) delete statuses[k];
    const o = await observed(t, ctx, () => run(cfg.openMs, 0));
    return {
      target: t.name,
      scheduled: o.r.scheduled,
      sent: o.r.sent,
      ok: o.r.ok,
      errors: o.r.failed,
      dropped: o.r.dropped,
      late: o.r.late,
      max_send_lag_ms: round(o.r.maxSendLagMs),
      unfinished: o.r.unfinished,
      first_errors: o.r.errors,
      statuses: { ...statuses },
      achieved_rate: round(o.r.achievedRate, 1),
      latency_ms: summarize(o.r.latencies),
      service_latency_ms: summarize(o.r.serviceLatencies),
      latencies: o.r.latencies,
      upstream: o.upstream,
      cpu_ms_per_ok: o.cpu_ms_per_ok,
      machine: o.machine,
      warmup: w ? { ok: w.ok, errors: w.failed, dropped: w.dropped, first_errors: w.errors, statuses: warmupStatuses } : null,
    };
  } finally {
    await closePool(pool);
  }
}

type ClosedResult = Awaited<ReturnType<typeof closedPhase>>;
type OpenResult = Awaited<ReturnType<typeof openPhase>>;

/** Direct first (the baseline), then the two gateways, the order of which alternates by round. */
function orderFor(round: number, cfg: Config): TargetName[] {
  const gateways = cfg.targets.filter((t) => t !== "direct");
  return ["direct", ...(round % 2 === 0 ? gateways : [...gateways].reverse())];
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

/** One target's figures over every round: req/s from total ok over total time, latencies pooled. */
function aggregate(cfg: Config, closed: ClosedResult[], open: OpenResult[]) {
  const out: Record<string, { closed: ReturnType<typeof closedAgg>; open: ReturnType<typeof openAgg> }> = {};
  /** CPU ms per ok request over every round (weighted by ok). */
  const cpuAgg = (rs: Array<ClosedResult | OpenResult>) => {
    const w = (k: "target" | "postgres" | "redis_shared") => {
      const with_ = rs.filter((r) => r.cpu_ms_per_ok[k] !== null);
      const ok = with_.reduce((a, r) => a + r.ok, 0);
      return with_.length === 0 || ok === 0 ? null : round(with_.reduce((a, r) => a + r.cpu_ms_per_ok[k]! * r.ok, 0) / ok, 3);
    };
    return { target: w("target"), postgres: w("postgres"), redis_shared: w("redis_shared") };
  };
  const closedAgg = (rs: ClosedResult[]) => {
    const ok = rs.reduce((a, r) => a + r.ok, 0);
    const ms = rs.reduce((a, r) => a + r.elapsed_ms, 0);
    return {
      ok,
      errors: rs.reduce((a, r) => a + r.errors, 0),
      req_per_s: round(ok / (ms / 1000), 1),
      req_per_s_by_round: rs.map((r) => r.req_per_s),
      latency_ms: summarize(rs.flatMap((r) => r.latencies)),
      cpu_ms_per_ok: cpuAgg(rs),
      first_error: rs.flatMap((r) => r.first_errors)[0] ?? null,
    };
  };
  const openAgg = (rs: OpenResult[]) => ({
    ok: rs.reduce((a, r) => a + r.ok, 0),
    errors: rs.reduce((a, r) => a + r.errors, 0),
    dropped: rs.reduce((a, r) => a + r.dropped, 0),
    late: rs.reduce((a, r) => a + r.late, 0),
    latency_ms: summarize(rs.flatMap((r) => r.latencies)),
    cpu_ms_per_ok: cpuAgg(rs),
    first_error: rs.flatMap((r) => r.first_errors)[0] ?? null,
  });
  for (const t of cfg.targets) out[t] = { closed: closedAgg(closed.filter((r) => r.target === t)), open: openAgg(open.filter((r) => r.target === t)) };
  return out;
}

type Aggregate = ReturnType<typeof aggregate>;

function verdicts(agg: Aggregate) {
  const d = agg.direct?.open.latency_ms;
  const added = (s: Summary | undefined) => (s && d ? { p50: round(s.p50 - d.p50), p99: round(s.p99 - d.p99) } : null);
  const sy = agg.switchyard;
  const pk = agg.portkey;
  const addedSy = added(sy?.open.latency_ms);
  const addedPk = added(pk?.open.latency_ms);
  const throughputRatio = sy && pk ? round(sy.closed.req_per_s / pk.closed.req_per_s, 3) : null;
  const p50Diff = addedSy && addedPk ? round(addedSy.p50 - addedPk.p50) : null;
  return {
    added_ms_open_loop: { direct_p50: d?.p50 ?? null, direct_p99: d?.p99 ?? null, portkey: addedPk, switchyard: addedSy },
    added_ms_closed_loop: {
      portkey:
        pk && agg.direct
          ? { p50: round(pk.closed.latency_ms.p50 - agg.direct.closed.latency_ms.p50), p99: round(pk.closed.latency_ms.p99 - agg.direct.closed.latency_ms.p99) }
          : null,
      switchyard:
        sy && agg.direct
          ? { p50: round(sy.closed.latency_ms.p50 - agg.direct.closed.latency_ms.p50), p99: round(sy.closed.latency_ms.p99 - agg.direct.closed.latency_ms.p99) }
          : null,
    },
    throughput_ratio_switchyard_over_portkey: throughputRatio,
    throughput_goal_met: throughputRatio === null ? null : throughputRatio >= 2,
    added_p50_switchyard_minus_portkey_ms: p50Diff,
    added_p50_goal_met: p50Diff === null ? null : p50Diff <= 0,
    // A goal is only met by a run without errors.
    clean: Object.values(agg).every((a) => a.closed.errors === 0 && a.open.errors === 0 && a.open.dropped === 0),
  };
}

function report(cfg: Config, closed: ClosedResult[], open: OpenResult[], agg: Aggregate, v: ReturnType<typeof verdicts>): string {
  const lines: string[] = [];
  const cpuCell = (c: Pick<ClosedResult["cpu_ms_per_ok"], "target" | "postgres" | "redis_shared">) =>
    [c.target ?? "-", ...(c.postgres !== null ? [`+${c.postgres}`] : []), ...(c.redis_shared !== null ? [`+${c.redis_shared}`] : [])].join(" ");
  const busy = (m: ClosedResult["machine"]) => (m.busy_cpus === null ? "-" : `${m.busy_cpus}/${m.outside_cpus ?? "-"} of ${m.cpus}`);
  lines.push(
    `\nclosed loop: ${cfg.connections} connections, ${cfg.closedMs / 1000} s or ${cfg.closedMax} requests per run after ${cfg.warmupRequests} warm-up, upstream delay ${cfg.upstreamDelayMs} ms`,
  );
  lines.push(
    table(
      [
        "target",
        "round",
        "ok",
        "errors",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "upstream calls",
        "cpu ms/req: target +pg +redis",
        "client cpu ms/req",
        "busy/outside CPUs",
        "statuses",
      ],
      closed.map((r, i) => [
        r.target,
        Math.floor(i / cfg.targets.length) + 1,
        r.ok,
        r.errors,
        r.req_per_s,
        r.latency_ms.p50,
        r.latency_ms.p99,
        r.latency_ms.max,
        `${r.upstream.calls} (${r.upstream.stream} stream)`,
        cpuCell(r.cpu_ms_per_ok),
        r.cpu_ms_per_ok.client ?? "-",
        busy(r.machine),
        JSON.stringify(r.statuses),
      ]),
    ),
  );
  lines.push(
    `\nopen loop: ${cfg.openRate} req/s for ${cfg.openMs / 1000} s per run after ${cfg.openWarmupMs / 1000} s warm-up; latency from each request's due time`,
  );
  lines.push(
    table(
      [
        "target",
        "round",
        "sent",
        "ok",
        "errors",
        "dropped",
        "late",
        "p50 ms",
        "p99 ms",
        "max ms",
        "upstream calls",
        "cpu ms/req: target +pg +redis",
        "busy/outside CPUs",
      ],
      open.map((r, i) => [
        r.target,
        Math.floor(i / cfg.targets.length) + 1,
        r.sent,
        r.ok,
        r.errors,
        r.dropped,
        r.late,
        r.latency_ms.p50,
        r.latency_ms.p99,
        r.latency_ms.max,
        `${r.upstream.calls} (${r.upstream.stream} stream)`,
        cpuCell(r.cpu_ms_per_ok),
        busy(r.machine),
      ]),
    ),
  );
  lines.push(`\nall rounds (${cfg.rounds}):`);
  lines.push(
    table(
      [
        "target",
        "closed req/s",
        "closed p50",
        "closed p99",
        "closed errors",
        `open@${cfg.openRate} p50`,
        "p99",
        "added p50",
        "added p99",
        "open errors+dropped",
        "closed cpu ms/req: target +pg +redis",
      ],
      cfg.targets.map((t) => {
        const a = agg[t]!;
        const added = t === "direct" ? null : v.added_ms_open_loop[t];
        return [
          t,
          a.closed.req_per_s,
          a.closed.latency_ms.p50,
          a.closed.latency_ms.p99,
          a.closed.errors,
          a.open.latency_ms.p50,
          a.open.latency_ms.p99,
          added?.p50 ?? "-",
          added?.p99 ?? "-",
          a.open.errors + a.open.dropped,
          cpuCell(a.closed.cpu_ms_per_ok),
        ];
      }),
    ),
  );
  for (const t of cfg.targets) {
    const a = agg[t]!;
    const first = a.closed.first_error ?? a.open.first_error;
    if (first) lines.push(`${t}: first error: ${first}`);
  }
  if (v.throughput_ratio_switchyard_over_portkey !== null) {
    lines.push(
      `\nswitchyard req/s ÷ portkey req/s at ${cfg.connections} connections: ${v.throughput_ratio_switchyard_over_portkey} (goal ≥ 2: ${v.throughput_goal_met ? "met" : "NOT met"})`,
    );
  }
  if (v.added_p50_switchyard_minus_portkey_ms !== null) {
    lines.push(
      `switchyard added p50 − portkey added p50 at ${cfg.openRate} req/s: ${v.added_p50_switchyard_minus_portkey_ms} ms (goal ≤ 0: ${v.added_p50_goal_met ? "met" : "NOT met"})`,
    );
  }
  for (const t of cfg.targets) {
    const a = agg[t]!;
    if (a.closed.errors + a.open.errors > 0) lines.push(`${t}: ${a.closed.errors + a.open.errors} request(s) failed (first error above)`);
    if (a.open.dropped > 0)
      lines.push(
        `${t}: ${a.open.dropped} open-loop arrival(s) not sent because ${cfg.openMaxInFlight} requests were outstanding: it did not keep up with ${cfg.openRate} req/s`,
      );
  }
  if (!v.clean) lines.push("a run with failed or dropped requests does not stand as a pass");
  const outside = [...closed, ...open].map((r) => r.machine.outside_cpus).filter((x): x is number => x !== null);
  const worst = Math.max(0, ...outside);
  if (worst > 0.25) {
    lines.push(
      `contended: processes this bench did not start (Redis, other users) used up to ${worst} of ${os.cpus().length} CPUs during a run; throughput and latency figures are depressed and noisy, CPU ms/req less so`,
    );
  }
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

function writeCatalog(): { file: string; dir: string } {
  return writeOneModelCatalog(
    { id: MODEL_ID, provider: "openai", upstream_model: UPSTREAM_MODEL, max_output_tokens: 16_384, pricing: { input: 0.15, output: 0.6, cached_input: 0.075 } },
    "portkey",
  );
}

/** HEAD, and how many paths the working tree changes (the apps run from the working tree, not HEAD). */
function gitState(): { commit: string | null; changed_paths: number | null } {
  const git = (args: string[]) => {
    try {
      return execFileSync("git", args, { cwd: REPO_ROOT, encoding: "utf8" });
    } catch {
      return null;
    }
  };
  const status = git(["status", "--porcelain", "--untracked-files=no"]);
  return { commit: git(["rev-parse", "--short", "HEAD"])?.trim() ?? null, changed_paths: status === null ? null : status.split("\n").filter(Boolean).length };
}

/** Non-empty lines a process printed (the apps run at LOG_LEVEL=warn), first few kept. */
function complaints(output: string) {
  const lines = output.split("\n").filter((l) => l.trim() !== "");
  return { lines: lines.length, first: lines.slice(0, 3).map((l) => l.slice(0, 300)) };
}

async function main(): Promise<void> {
  const cfg = readConfig();
  const started = new Date();
  const loadAtStart = os.loadavg().map((x) => round(x));
  const catalog = writeCatalog();
  let stack: Stack | null = null;
  let redis: Redis | null = null;
  let stopping: Promise<void> | null = null;
  const cleanup = () =>
    (stopping ??= (async () => {
      redis?.disconnect();
      await Promise.all([...children].map((c) => stopChild(c)));
      if (stack) {
        const s = stack;
        await Promise.race([
          s.stop().catch((err: Error) => process.stderr.write(`stack.stop failed: ${err.message}\n`)),
          new Promise((r) => setTimeout(r, 20_000).unref()),
        ]);
      }
      rmSync(catalog.dir, { recursive: true, force: true });
    })());
  const bail = (why: string, code: number) => {
    process.stderr.write(`\n${why}: stopping every child process\n`);
    const hard = setTimeout(() => process.exit(code), 25_000);
    hard.unref();
    void cleanup().finally(() => process.exit(code));
  };
  process.once("SIGINT", () => bail("interrupted", 130));
  process.once("SIGTERM", () => bail("terminated", 143));
  setTimeout(() => bail(`bench exceeded BENCH_TIMEOUT_SECONDS (${cfg.timeoutMs / 1000} s)`, 1), cfg.timeoutMs).unref();
  // Last resort when the process exits on any path: nothing it started may outlive it.
  process.once("exit", () => {
    for (const c of children) c.child.kill("SIGKILL");
    for (const a of stack?.apps.values() ?? []) a.kill("SIGKILL");
  });

  try {
    process.stdout.write(
      `${os.cpus().length} CPU(s), load average ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(" ")}; starting the mock upstream (${cfg.upstreamDelayMs} ms)\n`,
    );
    const mock = await startMock(cfg.upstreamDelayMs);
    const targets = new Map<TargetName, Target>();
    targets.set("direct", {
      name: "direct",
      origin: mock.url,
      headers: { authorization: `Bearer ${API_KEY}` },
      model: UPSTREAM_MODEL,
      pids: [mock.child.child.pid!],
    });
    let portkeyVersion: string | null = null;
    let portkey: Awaited<ReturnType<typeof startPortkey>> | null = null;
    if (cfg.targets.includes("portkey")) {
      portkey = await startPortkey();
      portkeyVersion = portkey.version;
      process.stdout.write(`portkey ${portkey.version} on ${portkey.url}\n`);
      targets.set("portkey", {
        name: "portkey",
        origin: portkey.url,
        headers: { authorization: `Bearer ${API_KEY}`, "x-portkey-provider": "openai", "x-portkey-custom-host": `${mock.url}/v1` },
        model: UPSTREAM_MODEL,
        pids: [portkey.child.child.pid!],
      });
    }
    if (cfg.targets.includes("switchyard")) {
      process.stdout.write(
        `starting switchyard (gateway, router-worker with ROUTER_CONCURRENCY=${cfg.routerConcurrency}, usage-aggregator; fresh database and Redis prefix)\n`,
      );
      stack = await startStack({
        env: {
          MODEL_CATALOG_PATH: catalog.file,
          OPENAI_BASE_URL: `${mock.url}/v1`,
          OPENAI_API_KEY: API_KEY,
          ROUTER_CONCURRENCY: String(cfg.routerConcurrency),
        },
      });
      targets.set("switchyard", {
        name: "switchyard",
        origin: stack.url,
        headers: { authorization: `Bearer ${stack.key}` },
        model: MODEL_ID,
        pids: [...stack.apps.values()].map((a) => a.child.pid!).filter((p) => p !== undefined),
      });
    }

    if (stack) redis = createRedis(stack.env.REDIS_URL!);
    const ctx: Ctx = {
      cfg,
      mock,
      benchPids: [...targets.values()].flatMap((t) => t.pids).filter((p, i, all) => all.indexOf(p) === i),
      database: stack?.database.name ?? null,
      redis,
    };
    const closed: ClosedResult[] = [];
    const open: OpenResult[] = [];
    for (let r = 0; r < cfg.rounds; r++) {
      for (const name of orderFor(r, cfg)) {
        process.stdout.write(`round ${r + 1}: closed loop, ${name}\n`);
        closed.push(await closedPhase(targets.get(name)!, ctx));
      }
      for (const name of orderFor(r, cfg)) {
        process.stdout.write(`round ${r + 1}: open loop, ${name}\n`);
        open.push(await openPhase(targets.get(name)!, ctx));
      }
    }
    const agg = aggregate(cfg, closed, open);
    const v = verdicts(agg);
    process.stdout.write(report(cfg, closed, open, agg, v));

    const strip = <T extends { latencies: number[] }>(r: T) => {
      const { latencies: _omit, ...rest } = r;
      return rest;
    };
    const result = {
      generated_at: started.toISOString(),
      git: gitState(),
      machine: {
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        cpus: os.cpus().length,
        cpu_model: os.cpus()[0]?.model ?? null,
        loadavg_at_start: loadAtStart,
        loadavg_at_end: os.loadavg().map((x) => round(x)),
      },
      note: "Bench client, mock upstream, Portkey, Switchyard (gateway, router-worker, usage-aggregator), Redis and Postgres share this machine's CPUs; loopback only. Switchyard's target CPU is its three app processes (Redis and Postgres not included).",
      config: { ...cfg, out: path.relative(REPO_ROOT, cfg.out) },
      portkey: portkey
        ? {
            version: portkeyVersion,
            command: `node ${path.relative(REPO_ROOT, PORTKEY_DIR)}/<bin> --port=<free port> --headless`,
            output: complaints(portkey.child.output()),
          }
        : null,
      switchyard: stack
        ? {
            router_concurrency: cfg.routerConcurrency,
            redis_prefix: stack.prefix,
            app_output: Object.fromEntries([...stack.apps].map(([label, a]) => [label, complaints(a.output())])),
          }
        : null,
      goals: { throughput_ratio_at_least: 2, added_p50_difference_at_most_ms: 0 },
      verdicts: v,
      aggregate: agg,
      closed_loop: closed.map(strip),
      open_loop: open.map(strip),
    };
    for (const [label, c] of Object.entries(result.switchyard?.app_output ?? {}))
      if (c.lines > 0) process.stdout.write(`${label} printed ${c.lines} warning/error line(s), first: ${c.first[0]}\n`);
    writeResult(cfg.out, result, REPO_ROOT);
  } finally {
    await cleanup();
  }
}

if (process.argv[2] === "--mock-upstream") {
  runMockUpstream(Number(process.argv[3] ?? 50));
} else {
  runBench(main);
}
