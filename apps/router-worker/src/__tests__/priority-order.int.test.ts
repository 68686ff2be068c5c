import { apiClient, startStack, waitFor, writeTestCatalog, type Stack } from "@switchyard/testkit";

/**
 * `priority` (high | normal | low) orders the jobs waiting in `ai-route`: jobs queued while no
 * worker runs are taken, by one worker running one job at a time, high first, then normal, then low
 * (and in submission order within a class), whatever order they were submitted in.
 */
let s: Stack;
beforeAll(async () => {
  s = await startStack({ apps: ["gateway"], env: { MODEL_CATALOG_PATH: writeTestCatalog() } });
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

test("a waiting high job is taken before normal and low ones submitted earlier", async () => {
  const a = apiClient(s.url, s.key);
  const submit = async (name: string, priority: "high" | "normal" | "low") => {
    const r = await a.post<{ id: string }>("/v1/jobs", { model: "sim-fast", priority, max_tokens: 4, messages: [{ role: "user", content: name }] });
    expect(r.status).toBe(202);
    return { name, id: r.body.id };
  };
  const jobs = [
    await submit("low-1", "low"),
    await submit("low-2", "low"),
    await submit("normal-1", "normal"),
    await submit("high-1", "high"),
    await submit("normal-2", "normal"),
  ];
  await s.spawn("router-worker", { ROUTER_CONCURRENCY: "1" });
  const started = await waitFor(
    async () => {
      const views = await Promise.all(
        jobs.map(async (j) => ({ ...j, view: (await a.get<{ status: string; started_at: string | null }>(`/v1/jobs/${j.id}`)).body })),
      );
      return views.every((v) => v.view.status === "succeeded") ? views : undefined;
    },
    30_000,
    "every job to finish",
  );
  const order = [...started].sort((x, y) => Date.parse(x.view.started_at!) - Date.parse(y.view.started_at!)).map((v) => v.name);
  expect(order).toEqual(["high-1", "normal-1", "normal-2", "low-1", "low-2"]);
});
