import { RedisKeys, type AlertJobPayload } from "@switchyard/contracts";
import { cleanupPrefix, testPrefix, TEST_REDIS_URL } from "@switchyard/testkit";
import { Redis } from "ioredis";
import { AlertBody, AlertFirer, alertJobId, checkBudgetAlerts, thresholdsCrossed, type AlertFire, type AlertQueue } from "./alerts";
import type { BudgetUsage } from "./budget-ledger";

const prefix = testPrefix("alerts");
const connections: Redis[] = [];
let seq = 0;

/** Records adds like BullMQ does with a custom job id: a second add of the same id is a no-op. */
class RecordingQueue implements AlertQueue {
  readonly jobs = new Map<string, AlertJobPayload>();
  adds = 0;
  failNext = 0;
  constructor(private readonly delayMs = 0) {}
  async enqueue(name: "ai-alerts", payload: AlertJobPayload, opts: { jobId: string }): Promise<unknown> {
    expect(name).toBe("ai-alerts");
    this.adds++;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("queue unavailable");
    }
    if (!this.jobs.has(opts.jobId)) this.jobs.set(opts.jobId, payload);
    return undefined;
  }
}

function redis(): Redis {
  const r = new Redis(TEST_REDIS_URL);
  connections.push(r);
  return r;
}

function firer(queues: AlertQueue, opts: { now?: () => Date; memoSize?: number } = {}): AlertFirer {
  return new AlertFirer({ redis: redis(), prefix, queues, ...opts });
}

/** An alert of its own per test. */
function alert(over: Partial<AlertFire> = {}): AlertFire {
  return {
    kind: "budget_threshold",
    tenantId: "ten_a",
    subject: `deployment:dep_${++seq}`,
    period: "d:2026-11-23",
    threshold: 80,
    details: { used_ratio: 0.81 },
    ...over,
  };
}

const markerKey = (a: AlertFire) => new RedisKeys(prefix).alert(a.kind, a.subject, a.period, a.threshold);

function usage(id: string, used_ratio: number, scope: BudgetUsage["scope"] = "deployment"): BudgetUsage {
  return {
    scope,
    id,
    period: "day",
    period_key: "d:2026-11-23",
    period_start: "2026-11-23T00:00:00.000Z",
    period_end: "2026-11-24T00:00:00.000Z",
    limit_usd: 1,
    spent_usd: used_ratio,
    spent_tokens: 0,
    reserved_usd: 0,
    reserved_tokens: 0,
    used_ratio,
  };
}

afterAll(async () => {
  for (const r of connections) r.disconnect();
  await cleanupPrefix(prefix);
});

describe("thresholdsCrossed", () => {
  it.each([
    [0, []],
    [0.799999, []],
    [0.8, [80]],
    [90_000_000 / 100_000_000, [80, 90]],
    [0.99, [80, 90]],
    [1, [80, 90, 100]],
    [2.5, [80, 90, 100]],
    [Number.NaN, []],
  ])("%p → %p", (ratio, want) => expect(thresholdsCrossed(ratio)).toEqual(want));
});

describe("AlertFirer (real Redis)", () => {
  it("40 concurrent fires on two processes' firers: one claim, one job, every caller returns after it is queued", async () => {
    const q = new RecordingQueue(50); // a slow queue: the winner's add takes a while
    const [a, b] = [firer(q), firer(q)];
    const al = alert();
    const queuedWhenResolved: number[] = [];
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).fire(al).then((r) => (queuedWhenResolved.push(q.jobs.size), r))));
    expect(results.filter((r) => r.fired)).toHaveLength(1);
    const winner = results.find((r) => r.fired)!.alertId;
    // Every caller resolved only once the alert was queued: nobody can answer before it.
    expect(queuedWhenResolved).toEqual(Array(40).fill(1));
    expect(q.jobs.size).toBe(1);
    for (const r of results) expect([winner, null]).toContain(r.alertId);
    const job = q.jobs.get(alertJobId(al))!;
    expect(job.alert_id).toBe(winner);
    const body = AlertBody.parse(job.body);
    expect(body).toMatchObject({
      alert_id: winner,
      kind: "budget_threshold",
      tenant_id: "ten_a",
      subject: al.subject,
      period: al.period,
      threshold: 80,
      used_ratio: 0.81,
    });
    expect(Date.parse(body.fired_at)).toBeLessThanOrEqual(Date.now());
    expect(await redis().get(markerKey(al))).toBe(`done:${winner}`);
  });

  it("fires again neither from memory nor from Redis, and a different threshold or period is a different alert", async () => {
    const q = new RecordingQueue();
    const al = alert();
    const f = firer(q);
    expect((await f.fire(al)).fired).toBe(true);
    expect((await f.fire(al)).fired).toBe(false);
    expect((await firer(q).fire(al)).fired).toBe(false); // another process: Redis says done
    expect(q.adds).toBe(1);
    expect((await f.fire({ ...al, threshold: 90 })).fired).toBe(true);
    expect((await f.fire({ ...al, period: "d:2026-11-24" })).fired).toBe(true);
    expect((await f.fire({ ...al, kind: "daily_cost_exceeded", threshold: 80 })).fired).toBe(true);
    expect(q.jobs.size).toBe(4);
  });

  it("identifying fields win over details of the same name", async () => {
    const q = new RecordingQueue();
    const al = alert({ details: { subject: "spoofed", threshold: 1, note: "kept" } });
    await firer(q).fire(al);
    expect(q.jobs.get(alertJobId(al))!.body).toMatchObject({ subject: al.subject, threshold: 80, note: "kept" });
  });

  it("an enqueue that fails gives the claim back, so the next crossing fires", async () => {
    const q = new RecordingQueue();
    q.failNext = 1;
    const al = alert();
    const f = firer(q);
    await expect(f.fire(al)).rejects.toThrow("queue unavailable");
    expect(await redis().get(markerKey(al))).toBeNull();
    expect((await f.fire(al)).fired).toBe(true);
    expect(q.jobs.size).toBe(1);
  });

  it("a claim left pending (its owner died before enqueueing) is completed by the next caller, under the owner's id", async () => {
    const q = new RecordingQueue();
    const al = alert();
    await redis().set(markerKey(al), "pending:alrt_orphan", "PX", 60_000);
    const r = await firer(q).fire(al);
    expect(r).toEqual({ fired: false, alertId: "alrt_orphan" });
    expect(q.jobs.get(alertJobId(al))!.alert_id).toBe("alrt_orphan");
    expect(await redis().get(markerKey(al))).toBe("done:alrt_orphan");
    expect((await firer(q).fire(al)).fired).toBe(false);
    expect(q.adds).toBe(1);
  });

  it("keeps the marker at least ttlMs, and until the period ends plus a grace for long periods", async () => {
    const now = new Date("2026-11-03T00:00:00Z");
    const q = new RecordingQueue();
    const short = alert();
    const month = alert({ period: "m:2026-11", until: new Date("2026-12-01T00:00:00Z") });
    const f = firer(q, { now: () => now });
    await f.fire(short);
    await f.fire(month);
    const r = redis();
    expect(await r.pttl(markerKey(short))).toBeGreaterThan(3 * 86_400_000 - 5000);
    expect(await r.pttl(markerKey(short))).toBeLessThanOrEqual(3 * 86_400_000);
    // 28 days to the period's end, plus 2 days of grace.
    expect(await r.pttl(markerKey(month))).toBeGreaterThan(30 * 86_400_000 - 5000);
  });

  it("job ids are stable per (kind, subject, period, threshold) and hold no colon (BullMQ refuses them)", () => {
    const al = alert();
    const other: AlertFire = { ...al, tenantId: "other", details: {} };
    expect(alertJobId(al)).toBe(alertJobId(other));
    expect(alertJobId(al)).not.toBe(alertJobId({ ...al, threshold: 90 }));
    expect(alertJobId(al)).not.toContain(":");
  });
});

describe("checkBudgetAlerts", () => {
  it("fires every threshold each scope has reached, and 100 % for a scope that refused", async () => {
    const q = new RecordingQueue();
    const f = firer(q);
    const dep = `dep_${++seq}`;
    const ten = `ten_${++seq}`;
    const fired = await checkBudgetAlerts(f, [usage(dep, 0.93), usage(ten, 0.5, "tenant")], ten, { extra: { trigger: "admission" } });
    expect(fired.filter((r) => r.fired)).toHaveLength(2);
    const bodies = [...q.jobs.values()].map((j) => AlertBody.parse(j.body));
    expect(bodies.map((b) => [b.subject, b.threshold])).toEqual([
      [`deployment:${dep}`, 80],
      [`deployment:${dep}`, 90],
    ]);
    expect(bodies[1]).toMatchObject({
      tenant_id: ten,
      period: "d:2026-11-23",
      scope: "deployment",
      scope_id: dep,
      used_ratio: 0.93,
      limit_usd: 1,
      trigger: "admission",
    });

    // The tenant budget refuses a request at 50 % used (the request alone would not fit).
    await checkBudgetAlerts(f, [usage(dep, 0.93), usage(ten, 0.5, "tenant")], ten, { exhausted: { scope: "tenant", id: ten } });
    const after = [...q.jobs.values()].map((j) => AlertBody.parse(j.body));
    expect(after.map((b) => [b.subject, b.threshold])).toEqual([
      [`deployment:${dep}`, 80],
      [`deployment:${dep}`, 90],
      [`tenant:${ten}`, 100],
    ]);
  });
});
