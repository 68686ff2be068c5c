import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { QUEUE_NAMES, type ApiErrorBody as ErrorBody, type OpsOverview as Overview } from "@switchyard/contracts";
import { apiClient, startStack, waitFor, writeTestCatalog, type Stack } from "@switchyard/testkit";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

/** Debian's chromium (`.ci/chromium.sh` installs it); Playwright's own browser download does not work offline. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const ARTIFACTS = path.resolve(__dirname, "../../../../test-artifacts");

let s: Stack;
let a: ReturnType<typeof apiClient>;
let browser: Browser;
let deploymentId: string;
const contexts: BrowserContext[] = [];
const basic = (password: string, user = "admin") => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
const msg = (content: string, extra: Record<string, unknown> = {}) => ({ model: "sim-fast", messages: [{ role: "user", content }], max_tokens: 16, ...extra });

async function finished(id: string): Promise<void> {
  await waitFor(
    async () =>
      ["succeeded", "failed", "canceled", "incomplete"].includes((await a.get<{ status: string }>(`/v1/jobs/${id}`)).body.status) ? true : undefined,
    20_000,
    `job ${id} to finish`,
  );
}
async function submitAndFinish(n: number, label: string): Promise<void> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await a.post<{ id: string }>("/v1/jobs", msg(`${label} ${i}`));
    expect(r.status).toBe(202);
    ids.push(r.body.id);
  }
  await Promise.all(ids.map(finished));
  // A job's view ends (its terminal event) before BullMQ moves its queue job to completed: wait
  // for the queue to count every job this file submitted, so the figures below are not a race.
  submitted += n;
  await waitFor(
    async () => {
      const r = await a.get<Overview>("/admin/v1/overview");
      return (r.body.queues?.find((q) => q.queue === "ai-route")?.counts.completed ?? 0) >= submitted ? true : undefined;
    },
    20_000,
    `ai-route to count ${submitted} completed jobs`,
  );
}
let submitted = 0;
const overview = async () => {
  const r = await a.get<Overview>("/admin/v1/overview");
  expect(r.status).toBe(200);
  return r.body;
};

/** A browser context that can reach the gateway and nothing else (the machine is offline anyway). */
async function newContext(credentials?: { username: string; password: string }): Promise<BrowserContext> {
  const ctx = await browser.newContext({ ...(credentials ? { httpCredentials: credentials } : {}), viewport: { width: 1440, height: 1000 } });
  await ctx.route("**/*", (route) => (new URL(route.request().url()).hostname === "127.0.0.1" ? route.continue() : route.abort()));
  contexts.push(ctx);
  return ctx;
}
const cellText = (page: Page, queue: string, state: string) => page.locator(`tr[data-queue="${queue}"] td[data-state="${state}"]`).textContent();
const num = (t: string | null) => Number((t ?? "").replace(/,/g, ""));

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run .ci/chromium.sh (apt-get install chromium)`);
  s = await startStack({ env: { MODEL_CATALOG_PATH: writeTestCatalog() } });
  a = apiClient(s.url, s.key);
  // The demo tenant's deployment gets a budget, so the spend table has a limit to show.
  deploymentId = (await s.database.db.selectFrom("deployments").select("id").where("is_default", "=", true).executeTakeFirstOrThrow()).id;
  expect((await a.call("PATCH", `/admin/v1/deployments/${deploymentId}`, { body: { budget: { period: "day", limit_usd: 5 } } })).status).toBe(200);
  // Playwright starts Chromium with a fresh temporary --user-data-dir of its own.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}, 90_000);
afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await s?.stop();
});

describe("GET /admin/v1/overview", () => {
  test("queues, throughput, errors, breakers, spend against budget and SSE connections, live", async () => {
    await submitAndFinish(4, "warm up");
    const first = await overview();
    expect(first.object).toBe("ops_overview");
    expect(first.problems).toEqual([]);
    expect(first.queues!.map((q) => q.queue)).toEqual(QUEUE_NAMES);
    const route = first.queues!.find((q) => q.queue === "ai-route")!;
    expect(route.counts.completed).toBeGreaterThanOrEqual(4);
    expect(route.completed_per_min).toBeGreaterThanOrEqual(4);
    expect(route.added_total).toBeGreaterThanOrEqual(4);
    expect(first.throughput!.completed_per_min).toBeGreaterThanOrEqual(4);
    expect(first.breakers!.map((b) => b.model)).toEqual(expect.arrayContaining(["sim-fast", "sim-slow"]));
    expect(first.errors.http_5xx_total).toBe(0);
    expect(first.sse.connections).toBe(0);

    // Enqueue rate comes from successive samples: a second call a while later has one.
    await new Promise((r) => setTimeout(r, 1100));
    await submitAndFinish(3, "rate");
    const second = await overview();
    const route2 = second.queues!.find((q) => q.queue === "ai-route")!;
    expect(route2.added_total).toBe(route.added_total + 3);
    expect(route2.enqueued_per_min).toBeGreaterThan(0);
    expect(second.throughput!.enqueued_per_min).toBeGreaterThan(0);
    expect(Date.parse(second.generated_at)).toBeGreaterThan(Date.parse(first.generated_at));

    // Spend: today's cost from the usage rollups (the aggregator writes them), with the budget.
    const spent = await waitFor(
      async () => {
        const o = await overview();
        const d = o.spend?.top_deployments.find((t) => t.deployment_id === deploymentId);
        return d && d.requests >= 7 && d.budget && d.budget.spent_usd > 0 ? o : undefined;
      },
      30_000,
      "today's spend to reach the rollups",
    );
    const d = spent.spend!.top_deployments.find((t) => t.deployment_id === deploymentId)!;
    expect(d.cost_usd).toBeGreaterThan(0);
    expect(spent.spend!.total_cost_usd).toBeGreaterThanOrEqual(d.cost_usd);
    expect(d.budget).toMatchObject({ period: "day", limit_usd: 5 });
    expect(d.budget!.used_ratio).toBeGreaterThan(0);
    expect(spent.spend!.day).toBe(new Date().toISOString().slice(0, 10));
  });

  test("counts this gateway's open SSE connections while a stream is open", async () => {
    const job = await a.post<{ id: string }>("/v1/jobs", msg("a slow answer", { model: "sim-slow", max_tokens: 400 }));
    const ac = new AbortController();
    const res = await fetch(`${s.url}/v1/jobs/${job.body.id}/events`, { headers: { authorization: `Bearer ${s.key}` }, signal: ac.signal });
    expect(res.status).toBe(200);
    await waitFor(async () => ((await overview()).sse.connections === 1 ? true : undefined), 5000, "one SSE connection");
    ac.abort();
    await waitFor(async () => ((await overview()).sse.connections === 0 ? true : undefined), 5000, "no SSE connection");
    await a.post(`/v1/jobs/${job.body.id}/cancel`);
  });

  test("Basic auth with an admin key as the password; 401 with a Basic challenge without one; 403 for a tenant key", async () => {
    const viaBasic = await fetch(`${s.url}/admin/v1/overview`, { headers: { authorization: basic(s.key, "whoever") } });
    expect(viaBasic.status).toBe(200);
    const bad: Array<Record<string, string>> = [
      {},
      { authorization: basic("sy_live_nope_nope") },
      { authorization: basic("") },
      { authorization: "Basic !!!" },
    ];
    for (const headers of bad) {
      const r = await fetch(`${s.url}/admin/v1/overview`, { headers });
      expect(r.status).toBe(401);
      expect(r.headers.get("www-authenticate")).toBe('Basic realm="switchyard", charset="UTF-8"');
      expect(((await r.json()) as ErrorBody).error.type).toBe("authentication_error");
    }
    const t = await a.post<{ id: string }>("/admin/v1/tenants", { name: "Dashboard outsider" });
    const k = await a.post<{ key: string }>(`/admin/v1/tenants/${t.body.id}/api-keys`, { name: "k", scopes: ["jobs:read", "usage:read"] });
    for (const p of ["/admin/v1/overview", "/dashboard", "/admin/queues", "/admin/queues/api/queues"]) {
      for (const authorization of [basic(k.body.key), `Bearer ${k.body.key}`]) {
        const r = await fetch(`${s.url}${p}`, { headers: { authorization } });
        expect([p, r.status, ((await r.json()) as ErrorBody).error.code]).toEqual([p, 403, "insufficient_scope"]);
      }
    }
  });
});

describe("/admin/queues", () => {
  test("bull-board behind Basic auth, read-only", async () => {
    const anon = await fetch(`${s.url}/admin/queues`);
    expect(anon.status).toBe(401);
    expect(anon.headers.get("www-authenticate")).toContain('Basic realm="switchyard"');
    const page = await fetch(`${s.url}/admin/queues`, { headers: { authorization: basic(s.key) } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<title>Switchyard queues</title>");
    const api = await fetch(`${s.url}/admin/queues/api/queues`, { headers: { authorization: `Bearer ${s.key}` } });
    expect(api.status).toBe(200);
    // Writes are refused before bull-board sees them: no pausing, no jobs that skip admission.
    for (const [method, p] of [
      ["PUT", "/admin/queues/api/queues/ai-route/pause"],
      ["POST", "/admin/queues/api/queues/ai-route/add"],
      ["PUT", "/admin/queues/api/queues/ai-route/clean/completed"],
    ] as const) {
      const r = await fetch(`${s.url}${p}`, {
        method,
        headers: { authorization: basic(s.key), "content-type": "application/json" },
        body: JSON.stringify({ name: "x", data: {} }),
      });
      expect([p, r.status, ((await r.json()) as ErrorBody).error.code]).toEqual([p, 403, "feature_disabled"]);
    }
    const q = (await overview()).queues!.find((x) => x.queue === "ai-route")!;
    expect(q.paused).toBe(false);
  });
});

describe("in a browser (headless Chromium)", () => {
  test("/dashboard shows live figures that refresh by themselves", async () => {
    const ctx = await newContext({ username: "admin", password: s.key });
    const page = await ctx.newPage();
    const problems: string[] = [];
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(e.message));
    const res = await page.goto(`${s.url}/dashboard`);
    expect(res!.status()).toBe(200);
    expect(await page.title()).toBe("Switchyard ops");

    // The queue table fills in from the overview: ai-route with a number per state.
    await page.waitForSelector('tr[data-queue="ai-route"] td[data-state="completed"]');
    const rows = await page.locator("tr[data-testid=queue-row]").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-queue")));
    expect(rows).toEqual(QUEUE_NAMES);
    expect((await cellText(page, "ai-route", "completed"))!).toMatch(/^[\d,]+$/);
    const completedBefore = num(await cellText(page, "ai-route", "completed"));
    expect(completedBefore).toBeGreaterThanOrEqual(7);

    // It polls: the refresh timestamp moves without any action.
    const stamp = () => page.locator("#last-refresh").getAttribute("data-at");
    const t1 = await stamp();
    const t2 = await waitFor(
      async () => {
        const t = await stamp();
        return t !== t1 ? t : undefined;
      },
      5000,
      "the page to refresh",
    );
    expect(Date.parse(t2!)).toBeGreaterThan(Date.parse(t1!));

    // More jobs: the page's count goes up on its own.
    await submitAndFinish(5, "browser");
    await waitFor(
      async () => (num(await cellText(page, "ai-route", "completed")) >= completedBefore + 5 ? true : undefined),
      10_000,
      "the page's completed count to go up",
    );
    // Spend, budget and breakers are on the page too.
    await page.waitForSelector(`tr[data-deployment="${deploymentId}"]`);
    expect(await page.locator(`tr[data-deployment="${deploymentId}"]`).textContent()).toContain("/ day");
    expect(await page.locator('tr[data-model="sim-fast"]').textContent()).toContain("closed");
    expect(await page.locator("#c-spend").textContent()).toMatch(/^\$\d/);
    expect(await page.locator("#c-completed").textContent()).toMatch(/^[\d,.]+$/);
    expect(await page.locator("#error-banner").isHidden()).toBe(true);
    expect(problems).toEqual([]);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "dashboard.png"), fullPage: true });
  });

  test("/admin/queues renders bull-board with the catalog's queues", async () => {
    const ctx = await newContext({ username: "admin", password: s.key });
    const page = await ctx.newPage();
    const res = await page.goto(`${s.url}/admin/queues`);
    expect(res!.status()).toBe(200);
    expect(await page.title()).toBe("Switchyard queues");
    // The sidebar lists the queues first; the overview cards (one per queue, with its job count) load after.
    for (const q of QUEUE_NAMES) {
      await waitFor(async () => ((await page.getByText(q, { exact: true }).count()) >= 2 ? true : undefined), 15_000, `${q} in the sidebar and as a card`);
    }
    await page
      .getByText(/^\d+ Jobs?$/)
      .first()
      .waitFor();
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "queue-dashboard.png"), fullPage: true });
  });

  test("without credentials both pages are 401 and show nothing", async () => {
    const anon = await newContext();
    const wrong = await newContext({ username: "admin", password: "sy_live_nope_nope" });
    for (const ctx of [anon, wrong]) {
      for (const p of ["/dashboard", "/admin/queues"]) {
        // What the browser sends is answered 401 with the Basic challenge…
        const r = await ctx.request.get(`${s.url}${p}`);
        expect([p, r.status(), r.headers()["www-authenticate"]]).toEqual([p, 401, 'Basic realm="switchyard", charset="UTF-8"']);
        // …and a navigation ends on that 401 (or, once Chromium has given up on the credentials, an auth error): no page.
        const page = await ctx.newPage();
        const outcome = await page.goto(`${s.url}${p}`).then(
          (res) => String(res?.status()),
          (e: Error) => e.message,
        );
        expect(outcome).toMatch(/^401$|ERR_INVALID_AUTH_CREDENTIALS/);
        expect(await page.locator("#queues-body").count()).toBe(0);
        expect(await page.title()).not.toMatch(/Switchyard/);
        await page.close();
      }
    }
  });
});
