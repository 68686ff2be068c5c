import { randomBytes } from "node:crypto";
import { Queue, Worker, type Job } from "bullmq";
import { createRedis, type Redis } from "./redis";
import { PromptWorker } from "./prompt-worker";

const url = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = `{sytest-pw-${randomBytes(4).toString("hex")}}`;
let redis: Redis;
let queue: Queue;
const workers: Worker[] = [];
const conns: Redis[] = [];

beforeAll(() => {
  redis = createRedis(url);
  queue = new Queue("pw", { connection: redis, prefix });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close(true)));
  for (const c of conns.splice(0)) c.disconnect();
  await queue.obliterate({ force: true });
});
afterAll(async () => {
  await queue.close();
  redis.disconnect();
});

const until = async (cond: () => boolean, what: string, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** A worker of either class on the test queue; records, for each job, how often it had found the queue empty when the job started. */
async function start(Cls: typeof Worker, concurrency: number, process: (job: Job) => Promise<unknown> = async () => "ok") {
  const seen = { drained: 0, drainedBefore: 0, atStart: new Map<string, number>() };
  const w = new Cls(
    "pw",
    async (job: Job) => {
      seen.atStart.set(job.id!, seen.drained);
      return process(job);
    },
    { connection: conns[conns.push(redis.duplicate()) - 1]!, prefix, concurrency },
  );
  w.on("drained", () => seen.drained++);
  workers.push(w);
  await w.waitUntilReady();
  // Idle: the worker has found the queue empty and waits for a job.
  await until(() => seen.drained > 0, "the worker to find the queue empty");
  return seen;
}

/** One job run to its end and the queue found empty again: the worker's steady idle state (BullMQ's first job after start is taken differently). */
async function warm(seen: Awaited<ReturnType<typeof start>>, jobId: string): Promise<void> {
  await queue.add("j", {}, { jobId, priority: 2 });
  await until(() => seen.atStart.has(jobId), `${jobId} to start`);
  await new Promise((r) => setTimeout(r, 200));
  seen.drainedBefore = seen.drained;
}

// Jobs with a priority, as the gateway enqueues `ai-route` jobs: for those BullMQ's own loop takes
// another look at the queue before it starts the job it took.
test("a job added to an idle queue starts before the worker looks for another one (BullMQ's Worker looks first)", async () => {
  const plain = await start(Worker, 8);
  await warm(plain, "plain-0");
  await queue.add("j", {}, { jobId: "plain-1", priority: 2 });
  await until(() => plain.atStart.has("plain-1"), "plain-1 to start");
  // BullMQ's own loop: another take (which found nothing) came between the pickup and the start.
  expect(plain.atStart.get("plain-1")! - plain.drainedBefore).toBe(1);
  await workers.splice(0)[0]!.close();

  const prompt = await start(PromptWorker, 8);
  await warm(prompt, "prompt-0");
  await queue.add("j", {}, { jobId: "prompt-1", priority: 2 });
  await until(() => prompt.atStart.has("prompt-1"), "prompt-1 to start");
  expect(prompt.atStart.get("prompt-1")! - prompt.drainedBefore).toBe(0);
});

test("it still runs jobs concurrently, up to its concurrency, and picks up jobs added while others run", async () => {
  let running = 0;
  let peak = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const done: string[] = [];
  const seen = await start(PromptWorker, 4, async (job) => {
    running++;
    peak = Math.max(peak, running);
    if (job.name === "held") await gate;
    if (job.name === "uneven") await new Promise((r) => setTimeout(r, (job.data as { ms: number }).ms));
    running--;
    done.push(job.id!);
  });
  // Four held jobs occupy every slot; they all run at once (each waits for the others to start).
  for (let i = 0; i < 4; i++) await queue.add("held", {}, { jobId: `held-${i}`, priority: 2 });
  await until(() => seen.atStart.size === 4, "four jobs to run at once");
  expect(peak).toBe(4);
  // A fifth waits for a free slot, then runs.
  await queue.add("quick", {}, { jobId: "quick-1", priority: 2 });
  await new Promise((r) => setTimeout(r, 200));
  expect(seen.atStart.has("quick-1")).toBe(false);
  release();
  await until(() => done.length === 5, "every job to finish");
  // Back to idle, then bursts of jobs of uneven length, so that takes, completions and idle waits
  // interleave: every job runs, and none waits for BullMQ's idle timeout (drainDelay, 5 s) while
  // jobs are queued.
  for (let wave = 0; wave < 2; wave++) {
    await queue.addBulk(
      Array.from({ length: 20 }, (_, i) => ({ name: "uneven", data: { ms: (i * 7) % 25 }, opts: { jobId: `burst-${wave}-${i}`, priority: 1 + (i % 3) } })),
    );
    await until(() => done.length === 5 + 20 * (wave + 1), `burst ${wave} to finish`, 4_000);
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(new Set(done).size).toBe(45);
});
