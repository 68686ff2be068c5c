import http from "node:http";
import {
  apiClient,
  httpOk,
  spawnApp,
  startFakeOpenAI,
  startStack,
  startTcpProxy,
  waitFor,
  writeTestCatalog,
  type FakeOpenAI,
  type Stack,
  type TcpProxy,
} from "@switchyard/testkit";

/**
 * Issue 14, event fan-out: GET /v1/jobs/{id}/events served by several gateway processes on one
 * Redis, while a router-worker streams slow answers from the fake OpenAI server. Followers on
 * every gateway must see the same bytes; a gateway killed mid-stream, or cut off from Redis for a
 * few seconds, must cost its followers nothing but a reconnect with Last-Event-ID.
 */

type Json = Record<string, any>;

/** One SSE event as the server sent it: its bytes (comment lines excluded) and its fields. */
interface Frame {
  raw: string;
  id: string;
  event: string;
  data: string;
  /** When it arrived (ms since epoch). */
  at: number;
}
/**
 * How a connection ended: after the terminal event; dropped (a 200 response that ended without
 * one); or no response at all: `refused` (nothing listening) or `reset` (the socket failed first).
 */
type Outcome = "terminal" | "dropped" | "refused" | "reset";

const CHUNK_MS = 25;
const TERMINAL = new Set(["done", "error"]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let s: Stack;
let fake: FakeOpenAI;
let redisProxy: TcpProxy;
/** Gateway A (killed and restarted in one test), B (never disturbed), C (reaches Redis through `redisProxy`). */
const gw = { a: "", b: "", c: "" };

/** The fake's answer for a prompt `fanout <tag> words=<n>`: n distinct words, one stream chunk each. */
const answerFor = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}w${i}`).join(" ");

beforeAll(async () => {
  fake = await startFakeOpenAI({
    reply: (req) => {
      const m = /fanout (\S+) words=(\d+)/.exec(JSON.stringify(req.body));
      return m ? answerFor(m[1]!, Number(m[2])) : "unexpected prompt";
    },
    chunkDelayMs: CHUNK_MS,
    // Time to first token: every follower is attached before the first delta is written.
    firstChunkDelayMs: 300,
  });
  s = await startStack({
    apps: ["gateway", "router-worker"],
    env: { MODEL_CATALOG_PATH: writeTestCatalog(), OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: "sk-test" },
  });
  redisProxy = await startTcpProxy({ host: new URL(s.env.REDIS_URL!).hostname, port: Number(new URL(s.env.REDIS_URL!).port || 6379) });
  const [b, c] = await Promise.all([
    s.spawn("gateway", {}, "gateway-b"),
    s.spawn("gateway", { REDIS_URL: `redis://127.0.0.1:${redisProxy.port}` }, "gateway-c"),
  ]);
  gw.a = s.url;
  gw.b = `http://127.0.0.1:${b.port}`;
  gw.c = `http://127.0.0.1:${c.port}`;
}, 90_000);
afterAll(async () => {
  await s?.stop();
  await redisProxy?.close();
  await fake?.close();
});

/**
 * One SSE connection, own socket (so killing a gateway drops it). Hands each complete event to
 * `onFrame` as it arrives; resolves with how the connection ended. Fails after `timeoutMs`.
 */
function connectOnce(url: string, headers: Record<string, string>, onFrame: (f: Frame) => void, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let sawTerminal = false;
    let responded = false;
    const settle = (o: Outcome | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (o instanceof Error) reject(o);
      else resolve(o);
    };
    const req = http.get(url, { agent: false, headers: { accept: "text/event-stream", ...headers } }, (res) => {
      responded = true;
      res.setEncoding("utf8");
      res.on("error", () => undefined);
      if (res.statusCode !== 200) {
        let body = "";
        res.on("data", (d: string) => (body += d));
        res.on("close", () => settle(new Error(`GET ${url}: ${res.statusCode} ${body}`)));
        return;
      }
      let buf = "";
      res.on("data", (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const lines = buf
            .slice(0, i)
            .split("\n")
            .filter((l) => !l.startsWith(":")); // heartbeats are timing, not content
          buf = buf.slice(i + 2);
          if (lines.length === 0) continue;
          const field = (name: string) => lines.filter((l) => l.startsWith(`${name}:`)).map((l) => l.slice(name.length + 1).replace(/^ /, ""));
          const f: Frame = {
            raw: `${lines.join("\n")}\n\n`,
            id: field("id")[0] ?? "",
            event: field("event")[0] ?? "message",
            data: field("data").join("\n"),
            at: Date.now(),
          };
          if (TERMINAL.has(f.event)) sawTerminal = true;
          onFrame(f);
        }
      });
      res.on("close", () => settle(sawTerminal ? "terminal" : "dropped"));
    });
    req.on("error", (err: NodeJS.ErrnoException) => settle(responded ? "dropped" : err.code === "ECONNREFUSED" ? "refused" : "reset"));
    const timer = setTimeout(() => {
      settle(new Error(`${url}: no end within ${timeoutMs} ms`));
      req.destroy();
    }, timeoutMs);
  });
}

/** A client of one job's events that reconnects after a drop, resuming after the last event it holds. */
class Follower {
  readonly frames: Frame[] = [];
  readonly connections: Array<{ base: string; after: string | null; outcome: Outcome; frames: number }> = [];
  private waiters: Array<() => void> = [];

  constructor(
    readonly name: string,
    readonly jobId: string,
    /** How a reconnect names its resume point. */
    private readonly via: "Last-Event-ID" | "after" = "Last-Event-ID",
  ) {}

  /** The terminal event has arrived. */
  get done(): boolean {
    return this.frames.some((f) => TERMINAL.has(f.event));
  }

  get bytes(): string {
    return this.frames.map((f) => f.raw).join("");
  }

  /** Connect to `pick(attempt)` until the terminal event arrives; bounded by `deadlineMs`. */
  async run(pick: (attempt: number) => string, deadlineMs = 30_000): Promise<this> {
    const deadline = Date.now() + deadlineMs;
    for (let attempt = 0; ; attempt++) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: no terminal event within ${deadlineMs} ms: ${JSON.stringify(this.connections)}`);
      const base = pick(attempt);
      const after = this.frames.at(-1)?.id ?? null;
      const query = after && this.via === "after" ? `?after=${after}` : "";
      const headers: Record<string, string> = {
        authorization: `Bearer ${s.key}`,
        ...(after && this.via === "Last-Event-ID" ? { "Last-Event-ID": after } : {}),
      };
      const held = this.frames.length;
      const outcome = await connectOnce(`${base}/v1/jobs/${this.jobId}/events${query}`, headers, (f) => this.push(f), left);
      this.connections.push({ base, after, outcome, frames: this.frames.length - held });
      if (outcome === "terminal") return this;
      // No response: the gateway is not listening (yet), or is going down: try again shortly.
      if (outcome === "refused" || outcome === "reset") await sleep(100);
    }
  }

  /** Resolves once `n` events have arrived; fails after `timeoutMs`. */
  async waitFrames(n: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: ${this.frames.length} of ${n} events within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private push(f: Frame): void {
    this.frames.push(f);
    for (const w of this.waiters.splice(0)) w();
  }
}

const idKey = (id: string) => id.split("-").map(BigInt) as [bigint, bigint];
const precedes = (x: string, y: string) => idKey(x)[0] < idKey(y)[0] || (idKey(x)[0] === idKey(y)[0] && idKey(x)[1] < idKey(y)[1]);

/**
 * Null when `f` holds byte for byte what `ref` holds; else a description naming the follower, its
 * connections (where each one resumed and how many events it got) and the first event that differs.
 */
function bytesDiffer(f: Follower, ref: Follower): string | null {
  if (f.bytes === ref.bytes) return null;
  const i = f.frames.findIndex((x, k) => x.raw !== ref.frames[k]?.raw);
  const at = i < 0 ? f.frames.length : i;
  const around = (fr: Frame[]) => fr.slice(Math.max(0, at - 2), at + 3).map((x) => `${x.id} ${x.event} ${x.data}`);
  return `${f.name}: ${f.frames.length} events, ${ref.name} has ${ref.frames.length}; first difference at #${at}; connections ${JSON.stringify(f.connections)}; got ${JSON.stringify(around(f.frames))}; want ${JSON.stringify(around(ref.frames))}`;
}

async function submit(tag: string, words: number, base = gw.a): Promise<string> {
  const r = await apiClient(base, s.key).post<Json>("/v1/jobs", {
    model: "gpt-test",
    messages: [{ role: "user", content: `fanout ${tag} words=${words}` }],
    max_tokens: 1000,
  });
  expect(r.status).toBe(202);
  return r.body.id as string;
}

/**
 * What every complete sequence of a job must be: ascending unique ids, a `status` first, exactly
 * one terminal event and it is the last, a `done` with the succeeded job, and the deltas joined
 * equal to the upstream's answer and to the stored output.
 */
async function expectComplete(frames: Frame[], jobId: string, answer: string): Promise<void> {
  const ids = frames.map((f) => f.id);
  expect(ids.every((id) => /^\d+-\d+$/.test(id))).toBe(true);
  expect(ids.every((id, i) => i === 0 || precedes(ids[i - 1]!, id))).toBe(true);
  expect(frames[0]!.event).toBe("status");
  expect(frames.filter((f) => TERMINAL.has(f.event)).map((f) => f.event)).toEqual(["done"]);
  expect(frames.at(-1)!.event).toBe("done");
  expect(JSON.parse(frames.at(-1)!.data).job).toMatchObject({ id: jobId, status: "succeeded" });
  expect(frames.filter((f) => f.event === "restart")).toEqual([]);
  const text = frames
    .filter((f) => f.event === "delta")
    .map((f) => (JSON.parse(f.data) as { text: string }).text)
    .join("");
  expect(text).toBe(answer);
  const job = (await apiClient(gw.b, s.key).get<Json>(`/v1/jobs/${jobId}`)).body;
  expect(job.output.text).toBe(answer);
}

test("followers on two gateways get byte-identical sequences with one terminal event; ?after= resumes after the id", async () => {
  const WORDS = 60;
  const jobs = await Promise.all([0, 1, 2, 3].map(async (j) => ({ tag: `f${j}`, id: await submit(`f${j}`, WORDS, j % 2 ? gw.b : gw.a) })));
  const followers = jobs.flatMap((job) =>
    [gw.a, gw.b].flatMap((base) => [0, 1, 2].map((k) => ({ job, base, f: new Follower(`${job.tag}@${base}#${k}`, job.id) }))),
  );
  await Promise.all(followers.map(({ f, base }) => f.run(() => base, 30_000)));

  const refOf = (job: (typeof jobs)[number]) => followers.find((x) => x.job === job)!.f;
  expect(followers.map(({ job, f }) => bytesDiffer(f, refOf(job))).filter(Boolean)).toEqual([]);
  for (const job of jobs) {
    const mine = followers.filter((x) => x.job === job).map((x) => x.f);
    const ref = mine[0]!;
    await expectComplete(ref.frames, job.id, answerFor(job.tag, WORDS));
    expect(ref.frames.filter((f) => f.event === "delta").length).toBeGreaterThanOrEqual(WORDS / 2);
    for (const f of mine) {
      expect(f.connections.map((c) => c.outcome)).toEqual(["terminal"]);
      // Followed live, not replayed after the fact: the stream went on for a while after this follower attached.
      expect(f.frames.at(-1)!.at - f.frames[0]!.at).toBeGreaterThan(500);
    }
  }

  // ?after=<id> on a finished job: exactly the events after that id, from either gateway.
  const ref = followers[0]!.f;
  const k = Math.floor(ref.frames.length / 2);
  for (const base of [gw.a, gw.b]) {
    const tail = new Follower(`after@${base}`, jobs[0]!.id);
    const outcome = await connectOnce(
      `${base}/v1/jobs/${jobs[0]!.id}/events?after=${ref.frames[k]!.id}`,
      { authorization: `Bearer ${s.key}` },
      (f) => tail.frames.push(f),
      10_000,
    );
    expect(outcome).toBe("terminal");
    expect(tail.bytes).toBe(
      ref.frames
        .slice(k + 1)
        .map((f) => f.raw)
        .join(""),
    );
  }
}, 60_000);

test("followers resuming from an older id on gateways already streaming the job get every later event, once", async () => {
  const WORDS = 80;
  const jobs = await Promise.all([0, 1, 2, 3].map(async (j) => ({ tag: `o${j}`, id: await submit(`o${j}`, WORDS, j % 2 ? gw.b : gw.a) })));
  // Followers at the head of each job on both gateways, so each gateway is reading the job ahead of a resumer.
  const heads = jobs.flatMap((job) => [gw.a, gw.b].map((base) => ({ job, base, f: new Follower(`${job.tag}@${base}`, job.id) })));
  const runs = heads.map(({ f, base }) => f.run(() => base, 30_000));
  await Promise.all(heads.map(({ f }) => f.waitFrames(4)));

  // While the streams run, resumers join every few tens of ms, each as a client that held the
  // first k events of an uninterrupted follower (1 to 6 behind its head) and reconnects after the k-th.
  let seed = 14;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const resumers: Array<{ job: (typeof jobs)[number]; f: Follower }> = [];
  const deadline = Date.now() + 20_000;
  while (heads.some(({ f }) => !f.done) && Date.now() < deadline) {
    for (const job of jobs) {
      const head = heads.find((h) => h.job === job && !h.f.done)?.f;
      if (!head) continue;
      const k = Math.max(1, head.frames.length - 1 - Math.floor(rnd() * 6));
      const f = new Follower(`${job.tag}+${k}#${resumers.length}`, job.id, rnd() < 0.5 ? "Last-Event-ID" : "after");
      f.frames.push(...head.frames.slice(0, k));
      const base = rnd() < 0.5 ? gw.a : gw.b;
      resumers.push({ job, f });
      runs.push(f.run(() => base, 30_000));
    }
    await sleep(20 + rnd() * 60); // pacing of the joins, not a wait for an outcome
  }
  await Promise.all(runs);
  expect(resumers.length).toBeGreaterThanOrEqual(40);

  const refOf = (job: (typeof jobs)[number]) => heads.find((h) => h.job === job)!.f;
  expect([...heads, ...resumers].map(({ job, f }) => bytesDiffer(f, refOf(job))).filter(Boolean)).toEqual([]);
  for (const job of jobs) await expectComplete(refOf(job).frames, job.id, answerFor(job.tag, WORDS));
  for (const { f } of [...heads, ...resumers]) expect(f.connections.map((c) => c.outcome)).toEqual(["terminal"]);
}, 60_000);

test("a gateway killed mid-stream: its followers resume (on the other gateway or the restarted one) losing and repeating nothing", async () => {
  const WORDS = 80;
  const jobs = await Promise.all([0, 1, 2, 3].map(async (j) => ({ tag: `k${j}`, id: await submit(`k${j}`, WORDS, gw.b) })));
  const port = new URL(gw.a).port;
  // Victims on A: #0 resumes on B with Last-Event-ID, #1 on B with ?after=, #2 waits for A to come back.
  const victims = jobs.flatMap((job) => [
    { job, f: new Follower(`${job.tag}@A#0`, job.id), next: () => gw.b },
    { job, f: new Follower(`${job.tag}@A#1`, job.id, "after"), next: () => gw.b },
    { job, f: new Follower(`${job.tag}@A#2`, job.id), next: () => gw.a },
  ]);
  const refs = jobs.map((job) => ({ job, f: new Follower(`${job.tag}@B`, job.id) }));
  const runs = [
    ...victims.map(({ f, next }) => f.run((attempt) => (attempt === 0 ? gw.a : next()), 40_000)),
    ...refs.map(({ f }) => f.run(() => gw.b, 40_000)),
  ];

  // Kill A once every victim is a few deltas into its stream.
  await Promise.all(victims.map(({ f }) => f.waitFrames(6)));
  const a = s.apps.get("gateway")!;
  a.kill("SIGKILL");
  expect(await a.exited).toBe("SIGKILL");
  // Same port, so followers that wait for A find it again at the address they know.
  const again = await spawnApp("gateway", { ...s.env, PORT: port }, () => httpOk(`${gw.a}/health`), 30_000, Number(port));
  s.apps.set("gateway", again);
  await Promise.all(runs);

  const refOf = (job: (typeof jobs)[number]) => refs.find((r) => r.job === job)!.f;
  expect(victims.map(({ job, f }) => bytesDiffer(f, refOf(job))).filter(Boolean)).toEqual([]);
  for (const { job, f: ref } of refs) {
    expect(ref.connections.map((c) => c.outcome)).toEqual(["terminal"]);
    await expectComplete(ref.frames, job.id, answerFor(job.tag, WORDS));
  }
  for (const { f } of victims) {
    const first = f.connections[0]!;
    // The kill cut this follower mid-stream: some events, no terminal yet, more after the resume.
    expect(first).toMatchObject({ base: gw.a, outcome: "dropped" });
    expect(first.frames).toBeGreaterThanOrEqual(6);
    expect(f.frames.slice(0, first.frames).some((x) => TERMINAL.has(x.event))).toBe(false);
    expect(f.frames.length).toBeGreaterThan(first.frames);
    expect(f.connections.at(-1)!.outcome).toBe("terminal");
  }
  // One drop (the kill), then one response that ends in the terminal event; only failed connects in between.
  expect(
    victims
      .filter(({ f }) => f.connections.filter((c) => c.outcome === "dropped" || c.outcome === "terminal").length !== 2)
      .map(({ f }) => ({ name: f.name, connections: f.connections })),
  ).toEqual([]);
  // #2 really came back through the restarted A.
  expect(victims.filter((v) => v.f.name.endsWith("#2")).every((v) => v.f.connections.at(-1)!.base === gw.a)).toBe(true);
}, 60_000);

test("a gateway cut off from Redis for 2.5 s: its followers end with every event in order, none repeated, one terminal", async () => {
  // Long enough (~3.5 s of deltas) that the outage starts and ends mid-stream.
  const WORDS = 140;
  const jobs = await Promise.all([0, 1, 2, 3].map(async (j) => ({ tag: `r${j}`, id: await submit(`r${j}`, WORDS, gw.b) })));
  const cut = jobs.flatMap((job) => [0, 1, 2].map((k) => ({ job, f: new Follower(`${job.tag}@C#${k}`, job.id) })));
  const refs = jobs.map((job) => ({ job, f: new Follower(`${job.tag}@B`, job.id) }));
  const runs = [...cut.map(({ f }) => f.run(() => gw.c, 40_000)), ...refs.map(({ f }) => f.run(() => gw.b, 40_000))];

  await Promise.all([...cut, ...refs].map(({ f }) => f.waitFrames(6)));
  const refAtCut = refs.map(({ f }) => f.frames.length);
  await redisProxy.cut();
  const cutAt = Date.now();
  try {
    // C has lost Redis (its readiness says so), and stays without it for 2.5 s while the worker
    // goes on writing (B's followers show it does).
    const ready = await waitFor(
      async () => {
        const r = await apiClient(gw.c).get<Json>("/health/ready");
        return r.status === 503 ? r.body : undefined;
      },
      2000,
      "gateway C to notice Redis is gone",
    );
    expect(ready.checks.redis.ok).toBe(false);
    await sleep(2500 - (Date.now() - cutAt));
    expect(refs.every(({ f }, i) => f.frames.length >= refAtCut[i]! + 20)).toBe(true);
    expect(refs.every(({ f }) => !f.frames.some((x) => TERMINAL.has(x.event)))).toBe(true);
  } finally {
    await redisProxy.restore();
  }
  await Promise.all(runs);

  const refOf = (job: (typeof jobs)[number]) => refs.find((r) => r.job === job)!.f;
  expect(cut.map(({ job, f }) => bytesDiffer(f, refOf(job))).filter(Boolean)).toEqual([]);
  for (const { job, f: ref } of refs) {
    expect(ref.connections.map((c) => c.outcome)).toEqual(["terminal"]);
    await expectComplete(ref.frames, job.id, answerFor(job.tag, WORDS));
  }
  for (const { f } of cut) {
    expect(f.connections.at(-1)!.outcome).toBe("terminal");
    expect(f.connections.every((c) => c.base === gw.c)).toBe(true);
  }
  // Either path is allowed; say which one the gateway took.
  const kept = cut.filter(({ f }) => f.connections.length === 1).length;
  console.info(
    `sse-fanout: Redis cut on gateway C: ${kept} of ${cut.length} followers kept their connection, ${cut.length - kept} resumed (${cut.map(({ f }) => f.connections.length).join(",")} connections)`,
  );
  // C works normally afterwards.
  await waitFor(async () => ((await apiClient(gw.c).get("/health/ready")).status === 200 ? true : undefined), 10_000, "gateway C to be ready again");
}, 60_000);
