import { compareChildId, CreateJobRequest, endComparison, JobView, withComparison, type JobView as JobViewT } from "./jobs";
import { JobEvent } from "./events";

const msgs = [{ role: "user", content: "hi" }];
const issue = (body: unknown) => {
  const r = CreateJobRequest.safeParse(body);
  return r.success ? null : { path: r.error.issues[0]!.path.join("."), message: r.error.issues[0]!.message };
};

test("compare takes 2-4 distinct catalog ids, not auto, and model absent or auto", () => {
  expect(CreateJobRequest.parse({ compare: ["a", "b"], messages: msgs }).compare).toEqual(["a", "b"]);
  expect(issue({ compare: ["a", "b"], model: "auto", messages: msgs })).toBeNull();
  expect(issue({ compare: ["a"], messages: msgs })).toMatchObject({ path: "compare" });
  expect(issue({ compare: ["a", "b", "c", "d", "e"], messages: msgs })).toMatchObject({ path: "compare" });
  expect(issue({ compare: ["a", "a"], messages: msgs })).toMatchObject({ path: "compare.1", message: "a is named twice" });
  expect(issue({ compare: ["a", "auto"], messages: msgs })).toMatchObject({ path: "compare.1" });
  expect(issue({ compare: ["a", "b"], model: "a", messages: msgs })).toMatchObject({ path: "model" });
  expect(issue({ compare: ["a", ""], messages: msgs })).toMatchObject({ path: "compare.1" });
});

const view = (over: Partial<JobViewT>): JobViewT =>
  JobView.parse({
    id: "job_x",
    object: "job",
    status: "queued",
    model: "m",
    served_model: null,
    created_at: "2026-01-01T00:00:00.000Z",
    started_at: null,
    completed_at: null,
    output: null,
    usage: null,
    routing: { decision: null, fallbacks: [] },
    error: null,
    metadata: null,
    ...over,
  });

test("a comparison sums its children's usage, gives each model's latency and cost, and succeeds when one model answered", () => {
  const parent = view({ id: "job_p", model: "compare" });
  const a = view({
    id: compareChildId("job_p", 0),
    model: "a",
    status: "succeeded",
    started_at: "2026-01-01T00:00:01.000Z",
    completed_at: "2026-01-01T00:00:01.250Z",
    output: { text: "A", citations: [], finish_reason: "stop" },
    usage: { input_tokens: 3, output_tokens: 5, cost_usd: 0.25, provenance: "reported" },
  });
  const b = view({
    id: compareChildId("job_p", 1),
    model: "b",
    status: "failed",
    started_at: "2026-01-01T00:00:00.500Z",
    completed_at: "2026-01-01T00:00:00.600Z",
    error: { code: "provider_error", message: "boom", reason: "provider_error" },
  });
  const end = endComparison(
    parent,
    [
      { model: "a", job_id: a.id, view: a },
      { model: "b", job_id: b.id, view: b },
    ],
    new Date("2026-01-01T00:00:02.000Z"),
  );
  expect(end).toMatchObject({
    status: "succeeded",
    started_at: "2026-01-01T00:00:00.500Z",
    completed_at: "2026-01-01T00:00:02.000Z",
    error: null,
    usage: { input_tokens: 3, output_tokens: 5, cost_usd: 0.25, provenance: "reported" },
  });
  expect(end.comparison).toEqual([
    { model: "a", job_id: "job_pc0", status: "succeeded", output: a.output, usage: a.usage, latency_ms: 250, cost_usd: 0.25, error: null },
    { model: "b", job_id: "job_pc1", status: "failed", output: null, usage: null, latency_ms: 100, cost_usd: null, error: b.error },
  ]);
  expect(JobView.parse(end)).toEqual(end);
  const none = endComparison(
    parent,
    [
      { model: "b", job_id: b.id, view: b },
      { model: "c", job_id: "job_pc1", view: null },
    ],
    new Date(),
  );
  expect(none).toMatchObject({ status: "failed", error: { code: "compare_failed" } });
  expect(none.error!.message).toContain("b: boom");
  expect(withComparison(parent, [{ model: "a", job_id: a.id, view: view({ id: a.id, model: "a" }) }]).comparison![0]).toMatchObject({
    status: "queued",
    latency_ms: null,
  });
});

test("events keep a comparison's model and job tags in their data", () => {
  const e = JobEvent.parse({ type: "delta", data: { text: "x", model: "a", job_id: "job_pc0" } });
  expect(e.data).toEqual({ text: "x", model: "a", job_id: "job_pc0" });
  const end = JobEvent.parse({
    type: "status",
    data: { status: "failed", model: "b", job_id: "job_pc1", error: { code: "provider_error", message: "boom", reason: "provider_error" } },
  });
  expect(end.data).toMatchObject({ status: "failed", model: "b", error: { code: "provider_error" } });
});

test("a live comparison is running once a child has left queued", () => {
  const parent = view({ id: "job_q", model: "compare" });
  const queued = view({ id: "job_qc0", model: "a" });
  expect(withComparison(parent, [{ model: "a", job_id: queued.id, view: queued }]).status).toBe("queued");
  const running = view({ id: "job_qc0", model: "a", status: "running", started_at: "2026-01-01T00:00:03.000Z" });
  expect(withComparison(parent, [{ model: "a", job_id: running.id, view: running }])).toMatchObject({
    status: "running",
    started_at: "2026-01-01T00:00:03.000Z",
  });
});

test("a comparison whose children were canceled, none answering, ends canceled", () => {
  const parent = view({ id: "job_k", model: "compare" });
  const canceled = view({ id: "job_kc0", model: "a", status: "canceled", error: { code: "canceled", message: "canceled by the client", reason: "canceled" } });
  const failed = view({ id: "job_kc1", model: "b", status: "failed", error: { code: "provider_error", message: "x" } });
  expect(
    endComparison(
      parent,
      [
        { model: "a", job_id: canceled.id, view: canceled },
        { model: "b", job_id: failed.id, view: failed },
      ],
      new Date(),
    ),
  ).toMatchObject({ status: "canceled", error: { code: "canceled" } });
});
