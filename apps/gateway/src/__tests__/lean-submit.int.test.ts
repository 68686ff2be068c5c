import fc from "fast-check";
import { startStack, writeTestCatalog, type Stack } from "@switchyard/testkit";

/**
 * `POST /v1/jobs` has two ways in (lean-routes.ts): `application/json` takes the lean path, any
 * other JSON type (here `application/merge-patch+json`, which the express app parses the same
 * way) the express chain. Whatever the body, both must answer alike: status, error code and
 * param, and the headers express sets. Seeded, bounded property test plus the edge cases by name.
 */
let s: Stack;
beforeAll(async () => {
  s = await startStack({ apps: ["gateway"], env: { MODEL_CATALOG_PATH: writeTestCatalog() } });
}, 60_000);
afterAll(async () => {
  await s?.stop();
});

const LEAN = "application/json";
const EXPRESS = "application/merge-patch+json";

interface Answer {
  status: number;
  code: string | null;
  param: string | null;
  object: string | null;
  headers: Record<string, string | null>;
}

let seq = 0;
async function post(type: string, body: Buffer | string, extra: Record<string, string> = {}, path = "/v1/jobs"): Promise<Answer> {
  const res = await fetch(`${s.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${s.key}`, "content-type": type, "idempotency-key": `lean-${process.pid}-${++seq}`, ...extra },
    body,
  });
  const text = await res.text();
  let json: Record<string, any> = {};
  try {
    json = JSON.parse(text);
  } catch {
    // compared as a status only
  }
  const pick = (h: string) => res.headers.get(h);
  return {
    status: res.status,
    code: json.error?.code ?? null,
    param: json.error?.param ?? null,
    object: json.object ?? null,
    headers: {
      "content-type": pick("content-type"),
      vary: pick("vary"),
      "x-request-id": pick("x-request-id") === null ? null : "set",
      location: pick("location") === null ? null : "set",
    },
  };
}

async function same(body: Buffer | string, extra: Record<string, string> = {}, path = "/v1/jobs"): Promise<Answer> {
  const lean = await post(LEAN, body, extra, path);
  const viaExpress = await post(EXPRESS, body, extra, path);
  expect(lean).toEqual(viaExpress);
  return lean;
}

const msg = (content: unknown) => JSON.stringify({ model: "sim-fast", messages: [{ role: "user", content }] });

test.each<[string, Buffer | string, number, string | null]>([
  ["a valid job", msg("hello"), 202, null],
  ["an empty body", "", 400, "invalid_request"],
  ["whitespace only", "  \n", 400, "invalid_json"],
  ["a JSON string", '"hello"', 400, "invalid_json"],
  ["a JSON number", "42", 400, "invalid_json"],
  ["null", "null", 400, "invalid_json"],
  ["an array", "[]", 400, "invalid_request"],
  ["truncated JSON", '{"messages": [', 400, "invalid_json"],
  ["a NUL character in a string", msg("a\u0000b"), 400, "invalid_request"],
  ["a NUL escape in a key", '{"mod\\u0000el":"x","messages":[{"role":"user","content":"x"}]}', 400, "invalid_request"],
  ["an unpaired surrogate", msg("\ud800"), 400, "invalid_request"],
  ["a byte-order mark", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(msg("bom"))]), 202, null],
  [
    "invalid UTF-8",
    Buffer.concat([Buffer.from('{"model":"sim-fast","messages":[{"role":"user","content":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]),
    202,
    null,
  ],
  ["hostile nesting", `${"[".repeat(200)}${"]".repeat(200)}`, 400, "invalid_request"],
  ["an unknown field", JSON.stringify({ messages: [{ role: "user", content: "x" }], temprature: 1 }), 400, "unknown_field"],
  ["over the body limit", msg("x".repeat(1_100_000)), 413, "payload_too_large"],
])("%s: both paths give the same answer", async (_name, body, status, code) => {
  const a = await same(body);
  expect(a.status).toBe(status);
  expect(a.code).toBe(code);
  expect(a.headers.vary).toBe("Origin");
  expect(a.headers["x-request-id"]).toBe("set");
});

test.each<[string, string, number, string, string | null]>([
  ["malformed JSON", "{", 400, "invalid_json", null],
  ["no messages", JSON.stringify({ model: "sim-fast" }), 400, "invalid_request", "messages"],
  ["an unknown field", JSON.stringify({ model: "sim-fast", messages: [{ role: "user", content: "x" }], temprature: 1 }), 400, "unknown_field", "temprature"],
  ["n above 1", JSON.stringify({ model: "sim-fast", messages: [{ role: "user", content: "x" }], n: 2 }), 400, "unsupported_parameter", "n"],
  ["an unknown model", JSON.stringify({ model: "nope", messages: [{ role: "user", content: "x" }] }), 404, "model_not_found", "model"],
  ["a NUL character", JSON.stringify({ model: "sim-fast", messages: [{ role: "user", content: "a\u0000" }] }), 400, "invalid_request", "messages[0].content"],
])("POST /v1/chat/completions, %s: both paths give the same answer", async (_name, body, status, code, param) => {
  const a = await same(body, {}, "/v1/chat/completions");
  expect([a.status, a.code, a.param]).toEqual([status, code, param]);
  expect(a.headers.vary).toBe("Origin");
});

test("auth and scope answer alike on both paths, after the body is judged", async () => {
  const none = { authorization: "" };
  expect((await same(msg("x"), none)).code).toBe("missing_api_key");
  expect((await same(msg("x"), { authorization: "Bearer nope" })).code).toBe("invalid_api_key");
  // A body error is found before the key is looked at, as express's parser runs first.
  expect((await same("{", none)).code).toBe("invalid_json");
});

test("the request id is echoed when valid and replaced when not", async () => {
  for (const type of [LEAN, EXPRESS]) {
    const ok = await fetch(`${s.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.key}`, "content-type": type, "x-request-id": "abc.123" },
      body: "{",
    });
    expect(ok.headers.get("x-request-id")).toBe("abc.123");
    expect(((await ok.json()) as any).error.request_id).toBe("abc.123");
    const bad = await fetch(`${s.url}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.key}`, "content-type": type, "x-request-id": "no spaces allowed" },
      body: "{",
    });
    expect(bad.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
  }
});

test("a replay is 200 with Idempotent-Replayed on the lean path", async () => {
  const headers = { authorization: `Bearer ${s.key}`, "content-type": LEAN, "idempotency-key": `replay-${process.pid}` };
  const first = await fetch(`${s.url}/v1/jobs`, { method: "POST", headers, body: msg("again") });
  const second = await fetch(`${s.url}/v1/jobs`, { method: "POST", headers, body: msg("again") });
  expect([first.status, second.status]).toEqual([202, 200]);
  expect(second.headers.get("idempotent-replayed")).toBe("true");
  expect(((await second.json()) as any).id).toBe(((await first.json()) as any).id);
});

test("seeded property: arbitrary JSON bodies get the same answer on both paths", async () => {
  const value = fc.jsonValue({ maxDepth: 4 });
  const body = fc.oneof(
    value.map((v) => JSON.stringify(v)),
    fc
      .record(
        {
          model: fc.oneof(fc.constant("sim-fast"), fc.string({ maxLength: 8 })),
          messages: fc.array(fc.record({ role: fc.constantFrom("user", "system", "wizard"), content: fc.oneof(fc.string({ maxLength: 20 }), value) }), {
            maxLength: 3,
          }),
          max_tokens: fc.option(fc.integer({ min: -2, max: 5000 })),
        },
        { requiredKeys: ["messages"] },
      )
      .map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 40 }),
  );
  await fc.assert(
    fc.asyncProperty(body, async (b) => {
      await same(b);
    }),
    { seed: 1307, numRuns: 120, interruptAfterTimeLimit: 60_000 },
  );
}, 120_000);
