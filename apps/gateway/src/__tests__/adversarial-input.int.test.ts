import { checkTokensPerRequestFloor, countInputTokens } from "@switchyard/admission";
import { CreateJobRequest, type ChatMessage } from "@switchyard/contracts";
import { apiClient, startStack, type Stack } from "@switchyard/testkit";

/**
 * One request must not stall a gateway: the worst texts the limits allow (single words, runs of
 * punctuation, emoji, whitespace, mixed scripts; each just under the per-text and body limits),
 * sent all at once to a deployment with a huge tokens_per_request, to the demo deployment
 * (16 000) and to a small one (4 000), while `/health` is polled every 10 ms. Every request gets
 * its proper answer (202, or the 4xx its size calls for: never a 5xx) and `/health` stays fast.
 * Before token counting was bounded, one 900 KB word held the gateway's event loop for minutes.
 * Only the gateway runs: admission is what is under test, admitted jobs just wait in the queue.
 */
type Json = Record<string, any>;
const MAX_TEXT = 200_000; // UTF-16 units per text (the request schema's cap)
const PARTS = 4; // 4 × 200 000 ASCII characters ≈ 800 KB, under the 1 MB body limit
const OUTPUT = 16;
const HUGE_LIMIT = 10_000_000;

let s: Stack;
let admin: ReturnType<typeof apiClient>;

beforeAll(async () => {
  s = await startStack({ apps: ["gateway"] });
  admin = apiClient(s.url, s.key);
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

async function tenantKey(name: string, rateLimits: Json): Promise<string> {
  const t = (await admin.post<Json>("/admin/v1/tenants", { name })).body;
  expect((await admin.call<Json>("PATCH", `/admin/v1/deployments/${t.default_deployment_id}`, { body: { rate_limits: rateLimits } })).status).toBe(200);
  return (await admin.post<Json>(`/admin/v1/tenants/${t.id}/api-keys`, { name: "k", scopes: ["jobs:write", "jobs:read"] })).body.key as string;
}

/** `unit` repeated to `units` UTF-16 units. */
const run = (unit: string, units = MAX_TEXT) => unit.repeat(Math.floor(units / unit.length));
const parts = (text: string, n = PARTS): ChatMessage => ({ role: "user", content: Array.from({ length: n }, () => ({ type: "text" as const, text })) });

const WORST: Record<string, ChatMessage[]> = {
  "one long word": [parts(run("x"))],
  "one 900 KB word in one message": [{ role: "user", content: "x".repeat(900_000) }],
  "repeated punctuation": [parts(run("!?"))],
  emoji: [parts(run("😀"), 2)], // 4 UTF-8 bytes per 2 UTF-16 units: 2 parts ≈ 800 KB
  whitespace: [parts(run(" "))],
  "mixed scripts": [parts(run("abcПриветمرحبا世界"), 2)],
  "many messages": Array.from({ length: 4 }, () => ({ role: "user" as const, content: run("z") })),
};

interface Sent {
  label: string;
  limit: number;
  path: string;
  body: Json;
  status?: number;
  response?: Json;
}

/** Whether the schema accepts the request but it is over tokens_per_request. */
function overLimit(x: Sent): boolean {
  if (!CreateJobRequest.safeParse(x.body).success) return false;
  const messages = x.body.messages as ChatMessage[];
  return !checkTokensPerRequestFloor(messages, OUTPUT, x.limit).ok || countInputTokens(messages) + OUTPUT > x.limit;
}

/** What admission must answer: 400 if the schema refuses it or it is over tokens_per_request, else 202. */
function expected(x: Sent): number {
  if (!CreateJobRequest.safeParse(x.body).success) return 400;
  return overLimit(x) ? 400 : 202;
}

async function post(url: string, key: string, x: Sent, body: string): Promise<void> {
  const res = await fetch(`${url}${x.path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body,
    signal: AbortSignal.timeout(120_000),
  });
  x.status = res.status;
  const text = await res.text();
  x.response = text ? (JSON.parse(text) as Json) : {};
}

test("worst-case inputs get their proper answers, concurrently, while /health stays under 100 ms at p99", async () => {
  const bigKey = await tenantKey("big", { tokens_per_request: HUGE_LIMIT, tokens_per_day: 1_000_000_000, requests_per_minute: 1000 });
  const smallKey = await tenantKey("small", { tokens_per_request: 4000, tokens_per_day: 1_000_000_000, requests_per_minute: 1000 });
  await new Promise((r) => setTimeout(r, 1100)); // deployment settings reach the gateway within a second

  const jobs = (messages: ChatMessage[]) => ({ model: "auto", messages, max_tokens: OUTPUT });
  const sends: Array<{ key: string; x: Sent }> = [];
  for (const [label, messages] of Object.entries(WORST)) {
    sends.push({ key: bigKey, x: { label: `big: ${label}`, limit: HUGE_LIMIT, path: "/v1/jobs", body: jobs(messages) } });
    sends.push({ key: s.key, x: { label: `demo: ${label}`, limit: 16_000, path: "/v1/jobs", body: jobs(messages) } });
  }
  sends.push({ key: smallKey, x: { label: "small: one long word", limit: 4000, path: "/v1/jobs", body: jobs(WORST["one long word"]!) } });
  // The OpenAI-compatible route admits through the same path (refused here, so nothing waits for a worker).
  sends.push({
    key: s.key,
    x: {
      label: "demo, chat completions: punctuation",
      limit: 16_000,
      path: "/v1/chat/completions",
      body: { model: "auto", messages: WORST["repeated punctuation"], max_tokens: OUTPUT },
    },
  });

  // Serialized before the clock starts: this process's own work must not count as the gateway's.
  const bodies = sends.map(({ x }) => JSON.stringify(x.body));
  await fetch(`${s.url}/metrics`); // the lag gauge now covers only what follows

  // Poll /health every ~10 ms from before the first request until the last answer.
  const health: number[] = [];
  let done = false;
  const poller = (async () => {
    while (!done) {
      const t0 = performance.now();
      const ok = await fetch(`${s.url}/health`, { signal: AbortSignal.timeout(5_000) })
        .then((r) => r.ok)
        .catch(() => false);
      health.push(ok ? performance.now() - t0 : 5_000);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  await new Promise((r) => setTimeout(r, 100));
  await Promise.all(
    sends.map(({ key, x }, i) => post(s.url, key, x, bodies[i]!).catch((err: Error) => ((x.status = -1), (x.response = { error: err.message })))),
  );
  await new Promise((r) => setTimeout(r, 100));
  done = true;
  await poller;

  const answers = sends.map(({ x }) => ({ label: x.label, status: x.status, expected: expected(x), code: x.response?.error?.code as string | undefined }));
  expect(answers.filter((a) => a.status !== a.expected)).toEqual([]);
  expect(answers.filter((a) => (a.status ?? 500) >= 500)).toEqual([]);
  // Over tokens_per_request is a 400 request_too_large (waiting cannot help), naming the limit.
  const over = sends.filter(({ x }) => overLimit(x));
  expect(over.length).toBeGreaterThan(0);
  for (const { x } of over) {
    expect(x.response?.error).toMatchObject({ type: "invalid_request_error", code: "request_too_large" });
    expect(x.response?.error?.message).toMatch(/tokens_per_request/);
  }
  const small = sends.find(({ x }) => x.label.startsWith("small:"))!.x;
  expect(small.response?.error?.message).toMatch(/tokens_per_request/);
  expect(small.response?.error?.param).toBe("messages[0]");
  // Every kind of worst text was admitted somewhere, so all of them were really counted.
  expect(answers.filter((a) => a.status === 202).length).toBeGreaterThanOrEqual(6);

  const sorted = [...health].sort((a, b) => a - b);
  const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)]!;
  expect(health.length).toBeGreaterThan(20);
  expect(p99).toBeLessThanOrEqual(100);

  // The gateway's own view, on its /metrics: its event loop's p99 lag over the run.
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  const lagP99 = Number(/^nodejs_eventloop_lag_seconds\{quantile="0\.99"\} (\S+)$/m.exec(metrics)?.[1]);
  expect(lagP99).toBeLessThanOrEqual(0.1);
}, 240_000);
