import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants as zlibConstants, deflateSync, gzipSync } from "node:zlib";

/** One route as its router file declares it. */
export interface RouteSpec {
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  path: string;
}

/**
 * Every route the gateway's routers declare, read from their source, so a route added later is
 * fuzzed without anyone remembering to list it.
 */
export function declaredRoutes(routesDir: string): RouteSpec[] {
  const out = new Map<string, RouteSpec>();
  for (const file of readdirSync(routesDir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))) {
    const src = readFileSync(join(routesDir, file), "utf8");
    for (const m of src.matchAll(/router\.(get|post|patch|put|delete)\(\s*"([^"]+)"/g)) {
      const spec: RouteSpec = { method: m[1]!.toUpperCase() as RouteSpec["method"], path: m[2]! };
      out.set(`${spec.method} ${spec.path}`, spec);
    }
  }
  return [...out.values()];
}

/** A request as it goes on the wire: raw path (ASCII, percent-escapes kept as sent), headers, bytes. */
export interface FuzzRequest {
  route: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | null;
  kind: string;
}

/** Path segments a client may send: real ids, garbage, and escapes that do not decode. */
const MALFORMED_SEGMENTS = ["%", "%zz", "%E0%A4%A", "%00", "a%00b", "%C0%80", "%ED%A0%80", "%FF", "%u0041", "..", "%2e%2e", "%2F", "x".repeat(3000)];

function segment(real: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...real) },
    { weight: 3, arbitrary: fc.constantFrom(...MALFORMED_SEGMENTS) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 24 }).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, "")) || "x") },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 24 }).map((s) => s.replace(/[^A-Za-z0-9_.~-]/g, "_")) },
  );
}

const QUERY_VALUES = [
  "",
  "%00",
  "%",
  "%E0%A4%A",
  "-1",
  "0",
  "1e309",
  "NaN",
  "99999999999999999999",
  "2026-02-30",
  "2026-13-01",
  "yesterday",
  "csv",
  "json",
  "model",
  "day",
  "queued",
  "x".repeat(2000),
  "%ED%A0%80",
];
const QUERY_KEYS = ["limit", "cursor", "status", "from", "to", "group_by", "date", "format", "after", "stream", "__proto__", "constructor", "a%00"];

const query: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constant("") },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.tuple(fc.constantFrom(...QUERY_KEYS), fc.constantFrom(...QUERY_VALUES)), { minLength: 1, maxLength: 4 })
      .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}`),
  },
);

/** Strings that hurt: NULs, lone surrogates, tokenizer worst cases, huge, control characters. */
const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "a\u0000b",
    "\u0000",
    "\ud800",
    "x\udc00y",
    "\ud83d",
    "😀".repeat(50),
    "\u202e\u0007\u001b[2J",
    "<|endoftext|>",
    "Robert'); DROP TABLE jobs;--",
    "../../etc/passwd",
  ),
  fc
    .constantFrom(1_000, 50_000, 300_000)
    .chain((n) => fc.constantFrom("x".repeat(n), "!?".repeat(n / 2), "😀".repeat(n / 2), "ab1 ".repeat(n / 4), "ä中ب".repeat(n / 3))),
  fc.string({ unit: "binary", maxLength: 64 }),
);

const protoKeys = fc.constantFrom("__proto__", "constructor", "prototype", "hasOwnProperty", "toString");

/** A valid body per route (what a well-behaved client sends), the starting point of mutations. */
const VALID_BODIES: Record<string, Record<string, unknown>> = {
  "POST /v1/jobs": { messages: [{ role: "user", content: "What is a job queue?" }], max_tokens: 8, metadata: { team: "fuzz" } },
  "POST /v1/chat/completions": { model: "auto", messages: [{ role: "user", content: "hi" }], max_tokens: 8 },
  "POST /v1/embeddings": { model: "sim-embed", input: ["hello", "world"], dimensions: 8 },
  "POST /v1/collections/:collection/documents": { title: "Pets", text: "Cats sleep about sixteen hours a day.", metadata: { kind: "fuzz" } },
  "POST /v1/collections/:collection/search": { query: "how long do cats sleep", top_k: 3 },
  "POST /admin/v1/tenants": { name: "Fuzz tenant" },
  "PATCH /admin/v1/tenants/:id": { name: "Renamed by fuzz" },
  "POST /admin/v1/tenants/:id/deployments": { name: "fuzz", type: "internal" },
  "PATCH /admin/v1/deployments/:id": { allowed_origins: ["https://fuzz.example.com"] },
  "POST /admin/v1/tenants/:id/api-keys": { name: "fuzz", scopes: ["jobs:read"] },
  "POST /admin/v1/tenants/:id/credits": { amount_usd: 1, reason: "fuzz" },
  "PUT /admin/v1/deployments/:id/end-users/:user_id": { tier: "paid" },
  "POST /admin/v1/deployments/:id/features/:feature": { enabled: true },
};

/** Set `value` at a random string-or-any leaf of a copy of `body` (or add it as a new field). */
function mutateAt(body: Record<string, unknown>, pick: number, value: unknown): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
  const slots: Array<[Record<string, unknown> | unknown[], string | number]> = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        slots.push([v, i]);
        walk(x);
      });
    } else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        slots.push([v as Record<string, unknown>, k]);
        walk(x);
      }
    }
  };
  walk(copy);
  if (slots.length === 0 || pick % (slots.length + 1) === slots.length) copy[`extra_${pick % 7}`] = value;
  else {
    const [holder, k] = slots[pick % slots.length]!;
    (holder as Record<string | number, unknown>)[k] = value;
  }
  return copy;
}

/** Bodies shaped like what the route expects, valid or with one part made hostile. */
function templateBody(route: string): fc.Arbitrary<Record<string, unknown>> {
  const base = VALID_BODIES[route] ?? {};
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(base) },
    { weight: 4, arbitrary: fc.tuple(fc.nat(), nastyString).map(([pick, v]) => mutateAt(base, pick, v)) },
    { weight: 2, arbitrary: fc.tuple(fc.nat(), fc.jsonValue({ maxDepth: 3 })).map(([pick, v]) => mutateAt(base, pick, v)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(protoKeys, fc.jsonValue({ maxDepth: 2 }))
        .map(
          ([k, v]) =>
            JSON.parse(`{${JSON.stringify(k)}:${JSON.stringify(v) ?? "null"},${JSON.stringify(base).slice(1)}`.replace(/,}$/, "}")) as Record<string, unknown>,
        ),
    },
  );
}

const deepNesting = fc.constantFrom(100, 10_000, 200_000).map((n) => `${"[".repeat(n)}${"]".repeat(n)}`);

const bombs = new Map<string, Buffer>();
/** 20 MB of JSON packed into a few KB: the decoded size must be bounded, not the wire size. */
function bomb(enc: string): Buffer {
  let packed = bombs.get(enc);
  if (!packed) {
    const plain = Buffer.from(JSON.stringify({ messages: [{ role: "user", content: " ".repeat(20_000_000) }] }));
    packed =
      enc === "gzip"
        ? gzipSync(plain)
        : enc === "deflate"
          ? deflateSync(plain)
          : brotliCompressSync(plain, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4 } });
    bombs.set(enc, packed);
  }
  return packed;
}

/** The whole body for `route`: its bytes, content type and content encoding. */
const body = (route: string): fc.Arbitrary<{ kind: string; bytes: Buffer | null; type?: string; encoding?: string }> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant({ kind: "none", bytes: null }) },
    { weight: 8, arbitrary: templateBody(route).map((b) => ({ kind: "template", bytes: Buffer.from(JSON.stringify(b)), type: "application/json" })) },
    templateBody(route).map((b) => ({
      kind: "lone-surrogate-escape",
      bytes: Buffer.from(JSON.stringify(b).replace(/^\{/, '{"metadata":{"k":"\\ud800"},').replace(/,}$/, "}")),
      type: "application/json",
    })),
    fc.jsonValue({ maxDepth: 4 }).map((v) => ({ kind: "json-value", bytes: Buffer.from(JSON.stringify(v) ?? "null"), type: "application/json" })),
    fc.tuple(templateBody(route), fc.nat()).map(([b, cut]) => {
      const s = JSON.stringify(b);
      return { kind: "truncated-json", bytes: Buffer.from(s.slice(0, cut % Math.max(1, s.length))), type: "application/json" };
    }),
    fc.uint8Array({ maxLength: 512 }).map((a) => ({ kind: "random-bytes", bytes: Buffer.from(a), type: "application/json" })),
    deepNesting.map((s) => ({ kind: "deep-nesting", bytes: Buffer.from(s), type: "application/json" })),
    protoKeys.map((k) => ({
      kind: "prototype-keys",
      bytes: Buffer.from(`{"${k}":{"admin":true,"polluted":1},"messages":[{"role":"user","content":"hi"}]}`),
      type: "application/json",
    })),
    fc.constant({
      kind: "oversized",
      bytes: Buffer.from(JSON.stringify({ messages: [{ role: "user", content: "y".repeat(1_200_000) }] })),
      type: "application/json",
    }),
    fc.tuple(fc.constantFrom("gzip", "deflate", "br"), fc.uint8Array({ minLength: 1, maxLength: 256 })).map(([enc, a]) => ({
      kind: `garbage-${enc}`,
      bytes: Buffer.concat([enc === "gzip" ? Buffer.from([0x1f, 0x8b, 8, 0]) : Buffer.alloc(0), Buffer.from(a)]),
      type: "application/json",
      encoding: enc,
    })),
    fc.constantFrom("gzip", "deflate", "br").map((enc) => ({ kind: `bomb-${enc}`, bytes: bomb(enc), type: "application/json", encoding: enc })),
    fc.constantFrom("gzip", "deflate").map((enc) => {
      const plain = Buffer.from(JSON.stringify({ messages: [{ role: "user", content: "compressed hello" }], max_tokens: 8 }));
      const packed = enc === "gzip" ? gzipSync(plain) : deflateSync(plain);
      return { kind: `truncated-${enc}`, bytes: packed.subarray(0, Math.max(2, packed.length - 6)), type: "application/json", encoding: enc };
    }),
    fc
      .constantFrom(
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=utf-16",
        "multipart/form-data; boundary=x",
        "application/merge-patch+json",
      )
      .map((type) => ({ kind: `type ${type}`, bytes: Buffer.from('{"messages":[{"role":"user","content":"hi"}]}'), type })),
  );

/**
 * Worst-case admission bodies: about `bytes` of UTF-8 in single words and symbol runs (under the
 * 1 MB body limit), split into messages just under the 200 000-character limit of one message.
 */
export function adversarialTokenBodies(bytes = 900_000): Buffer[] {
  const units = ["x", "!", "😀", "ab", "ä中ب", "\u200b"];
  return units.map((unit) => {
    const per = Math.floor(198_000 / unit.length);
    const messages = [];
    for (let left = Math.floor(bytes / Buffer.byteLength(unit)); left > 0; left -= per)
      messages.push({ role: "user", content: unit.repeat(Math.min(per, left)) });
    return Buffer.from(JSON.stringify({ messages, max_tokens: 8 }));
  });
}

/** Requests for one route: its params filled from `ids`, a query, a body, a content encoding. */
export function requestFor(route: RouteSpec, ids: Record<string, readonly string[]>): fc.Arbitrary<FuzzRequest> {
  const params = route.path.match(/:[a-z_]+/g) ?? [];
  const name = `${route.method} ${route.path}`;
  return fc.tuple(fc.tuple(...params.map((p) => segment(ids[p.slice(1)] ?? ids.default!))), query, body(name)).map(([values, q, b]) => {
    let path = route.path;
    params.forEach((p, i) => (path = path.replace(p, values[i]!)));
    const headers: Record<string, string> = {};
    if (b.type) headers["content-type"] = b.type;
    if (b.encoding) headers["content-encoding"] = b.encoding;
    return { route: name, method: route.method, path: `${path}${q}`, headers, body: b.bytes, kind: b.kind };
  });
}
