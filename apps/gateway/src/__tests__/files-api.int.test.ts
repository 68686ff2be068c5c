import type { AddressInfo } from "node:net";
import http from "node:http";
import { FileDeleted, FileList, FileObject } from "@switchyard/contracts";
import { createApiKey, createTenant, seedDemo } from "@switchyard/db";
import { createLogger } from "@switchyard/telemetry";
import {
  cleanupPrefix,
  createTestDatabase,
  startFakeS3,
  testPrefix,
  TEST_REDIS_URL,
  writeTestCatalog,
  type FakeS3,
  type TestDatabase,
} from "@switchyard/testkit";
import express from "express";
import OpenAI, { NotFoundError } from "openai";
import { loadEnv } from "../env";
import { Authenticator } from "../middleware/authenticate";
import { errorHandler } from "../middleware/error-handler";
import { requestId } from "../middleware/request-context";
import { filesRouter } from "../routes/files";
import { startGateway, type RunningGateway } from "../server";
import { sweepExpiredFiles } from "../services/files-service";

/**
 * The Files API (issue 18) against a real gateway, Postgres and Redis: the official SDK's create,
 * retrieve, content, list (pages) and delete; tenant isolation; every bad upload a 4xx naming the
 * field or line, and nothing stored by it. A second small app mounts the same router with tiny
 * limits, so the size and line limits are tested without megabytes of input.
 * `files-api-s3.int.test.ts` runs this same suite with FILE_STORE=s3 against a fake S3 that checks
 * every request's SigV4 signature (SWITCHYARD_TEST_FILE_STORE=s3).
 */
const S3 = process.env.SWITCHYARD_TEST_FILE_STORE === "s3";
let s3: FakeS3 | undefined;
let database: TestDatabase;
let gw: RunningGateway;
let small: http.Server;
let base: string;
let smallBase: string;
let keyA: string;
let keyB: string;
let client: OpenAI;
const prefix = testPrefix("files");
const actor = { keyId: null };

beforeAll(async () => {
  database = await createTestDatabase();
  keyA = (await seedDemo(database.db)).key!;
  await createTenant(database.db, { id: "ten_files_b", name: "B", timezone: "UTC", billing_mode: "postpaid" }, actor);
  keyB = (await createApiKey(database.db, "ten_files_b", { name: "b", scopes: ["jobs:read", "jobs:write"] }, actor)).key;
  if (S3) s3 = await startFakeS3();
  const env = loadEnv({
    ...(s3
      ? {
          FILE_STORE: "s3",
          S3_ENDPOINT: s3.url,
          S3_BUCKET: s3.bucket,
          S3_REGION: s3.region,
          S3_ACCESS_KEY_ID: s3.accessKeyId,
          S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
        }
      : {}),
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    SWITCHYARD_PREFIX: prefix,
    PORT: "0",
    HOST: "127.0.0.1",
    MODEL_CATALOG_PATH: writeTestCatalog(),
    LOG_LEVEL: "silent",
  });
  gw = await startGateway(env, { logger: createLogger({ name: "gateway", level: "silent" }), db: database.db });
  base = `http://127.0.0.1:${gw.port}`;
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: keyA, maxRetries: 0 });
  const r = gw.resources;
  const app = express();
  app.use(requestId);
  app.use(filesRouter(r, new Authenticator(r.db, r.logger, r.deployments), { limits: { maxBytes: 2048, maxLines: 5 } }));
  app.use(errorHandler(r.logger));
  small = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => small.once("listening", resolve));
  smallBase = `http://127.0.0.1:${(small.address() as AddressInfo).port}`;
}, 60_000);
afterAll(async () => {
  await new Promise((resolve) => small?.close(resolve));
  await gw?.close(0);
  await database?.drop();
  await cleanupPrefix(prefix);
  await s3?.close();
});

/** Where the store holds a file's bytes: Postgres chunk numbers, or the S3 object's size (and nothing in file_chunks). */
async function storedBytes(id: string): Promise<{ chunks: number[]; object: number | null }> {
  const chunks = await database.db.selectFrom("file_chunks").select("seq").where("file_id", "=", id).orderBy("seq").execute();
  return { chunks: chunks.map((c) => c.seq), object: s3?.objects.get(`files/${id}`)?.data.length ?? null };
}

const line = (i: number) =>
  JSON.stringify({
    custom_id: `req-${i}`,
    method: "POST",
    url: "/v1/chat/completions",
    body: { model: "sim-fast", messages: [{ role: "user", content: `hello ${i}` }] },
  });
const jsonl = (n: number) => Array.from({ length: n }, (_, i) => line(i + 1)).join("\n") + "\n";

/** A raw multipart upload (what the SDK cannot be made to send): fields in order, the file as given bytes. */
async function upload(parts: Array<{ name: string; value: string | Buffer; filename?: string }>, opts: { url?: string; key?: string } = {}) {
  const form = new FormData();
  for (const p of parts) {
    if (p.filename !== undefined) form.append(p.name, new Blob([p.value]), p.filename);
    else form.append(p.name, p.value.toString());
  }
  const res = await fetch(`${opts.url ?? base}/v1/files`, { method: "POST", headers: { authorization: `Bearer ${opts.key ?? keyA}` }, body: form });
  return {
    status: res.status,
    body: (await res.json()) as { error?: { code: string; message: string; param?: string; type: string } } & Record<string, unknown>,
  };
}

const batchFile = (data: string | Buffer, filename = "in.jsonl") => [
  { name: "purpose", value: "batch" },
  { name: "file", value: data, filename },
];

async function fileCount(tenant: string): Promise<number> {
  const r = await database.db
    .selectFrom("files")
    .select((e) => e.fn.countAll<string>().as("n"))
    .where("tenant_id", "=", tenant)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

test("the official SDK uploads a JSONL batch file, reads it back byte for byte, and deletes it", async () => {
  const text = jsonl(3);
  const created = await client.files.create({ file: new File([text], "requests.jsonl", { type: "application/jsonl" }), purpose: "batch" });
  expect(FileObject.parse(created)).toEqual(created);
  expect(created).toMatchObject({ object: "file", purpose: "batch", filename: "requests.jsonl", bytes: Buffer.byteLength(text), status: "processed" });
  expect(created.id).toMatch(/^file_/);
  expect(Math.abs(created.created_at - Date.now() / 1000)).toBeLessThan(60);

  expect(await client.files.retrieve(created.id)).toEqual(created);
  const content = await client.files.content(created.id);
  expect(content.headers.get("content-type")).toBe("application/octet-stream");
  expect(content.headers.get("content-disposition")).toContain('filename="requests.jsonl"');
  expect(await content.text()).toBe(text);

  const listed = await client.files.list({ purpose: "batch" });
  expect(listed.data.map((f) => f.id)).toContain(created.id);

  const deleted = await client.files.delete(created.id);
  expect(FileDeleted.parse(deleted)).toEqual({ id: created.id, object: "file", deleted: true });
  await expect(client.files.retrieve(created.id)).rejects.toBeInstanceOf(NotFoundError);
  await expect(client.files.content(created.id)).rejects.toBeInstanceOf(NotFoundError);
  await expect(client.files.delete(created.id)).rejects.toBeInstanceOf(NotFoundError);
  // Its bytes went with it (chunks or object).
  expect(await storedBytes(created.id)).toEqual({ chunks: [], object: null });
});

test("a file over several 1 MiB chunks (non-ASCII name, CRLF lines) reads back exactly", async () => {
  const pad = "é".repeat(700);
  const lines = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ custom_id: `c${i}`, pad }));
  const text = lines.join("\r\n");
  expect(Buffer.byteLength(text)).toBeGreaterThan(2.5 * 1024 * 1024);
  const created = await client.files.create({ file: new File([text], "données.jsonl"), purpose: "batch" });
  expect(created.bytes).toBe(Buffer.byteLength(text));
  expect(created.filename).toBe("données.jsonl");
  expect(await storedBytes(created.id)).toEqual(S3 ? { chunks: [], object: Buffer.byteLength(text) } : { chunks: [0, 1, 2], object: null });
  const res = await client.files.content(created.id);
  expect(res.headers.get("content-disposition")).toContain("filename*=UTF-8''donn%C3%A9es.jsonl");
  expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(text))).toBe(true);
  await client.files.delete(created.id);
});

test("list pages like OpenAI's: limit, after, has_more, first_id, last_id, order; the SDK auto-paginates", async () => {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await client.files.create({ file: new File([jsonl(1)], `p${i}.jsonl`), purpose: "batch" })).id);
  const all = FileList.parse(await (await fetch(`${base}/v1/files`, { headers: { authorization: `Bearer ${keyA}` } })).json());
  const newestFirst = [...ids].reverse();
  expect(all.data.map((f) => f.id).slice(0, 3)).toEqual(newestFirst);

  const first = await client.files.list({ limit: 2 });
  expect(first.data.map((f) => f.id)).toEqual(newestFirst.slice(0, 2));
  const raw = FileList.parse(await (await fetch(`${base}/v1/files?limit=2`, { headers: { authorization: `Bearer ${keyA}` } })).json());
  expect(raw).toMatchObject({ first_id: newestFirst[0], last_id: newestFirst[1], has_more: all.data.length > 2 });
  const page2 = FileList.parse(
    await (await fetch(`${base}/v1/files?limit=2&after=${newestFirst[1]}`, { headers: { authorization: `Bearer ${keyA}` } })).json(),
  );
  expect(page2.data[0]!.id).toBe(newestFirst[2]);

  const seen: string[] = [];
  for await (const f of client.files.list({ limit: 1 })) seen.push(f.id);
  expect(seen).toEqual(all.data.map((f) => f.id));
  const asc = await client.files.list({ order: "asc", limit: 100 });
  expect(asc.data.map((f) => f.id)).toEqual([...all.data.map((f) => f.id)].reverse());

  const bad = await fetch(`${base}/v1/files?limit=0`, { headers: { authorization: `Bearer ${keyA}` } });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { error: { param: string } }).error.param).toBe("limit");
  const badAfter = await fetch(`${base}/v1/files?after=nope`, { headers: { authorization: `Bearer ${keyA}` } });
  expect(badAfter.status).toBe(400);
});

test("another tenant's file is 404 for every operation, and never listed", async () => {
  const mine = await client.files.create({ file: new File([jsonl(1)], "mine.jsonl"), purpose: "batch" });
  const other = new OpenAI({ baseURL: `${base}/v1`, apiKey: keyB, maxRetries: 0 });
  await expect(other.files.retrieve(mine.id)).rejects.toBeInstanceOf(NotFoundError);
  await expect(other.files.content(mine.id)).rejects.toBeInstanceOf(NotFoundError);
  await expect(other.files.delete(mine.id)).rejects.toBeInstanceOf(NotFoundError);
  expect((await other.files.list()).data).toEqual([]);
  // Still there for its owner.
  expect((await client.files.retrieve(mine.id)).id).toBe(mine.id);
});

test("bad lines are a 400 naming the line, and nothing is stored", async () => {
  const before = await fileCount("ten_demo");
  const cases: Array<[string, Buffer | string, RegExp]> = [
    ["not JSON", `${line(1)}\n{"custom_id": "x",\n`, /^file: line 2: is not valid JSON/],
    ["not an object", `${line(1)}\n${line(2)}\n[1,2]\n`, /^file: line 3: must be a JSON object/],
    ["an empty line", `${line(1)}\n\n${line(3)}\n`, /^file: line 2: is empty/],
    ["a NUL byte", Buffer.concat([Buffer.from(`${line(1)}\n{"a":"x`), Buffer.from([0]), Buffer.from('"}\n')]), /^file: line 2: contains a NUL byte/],
    [
      "invalid UTF-8",
      Buffer.concat([Buffer.from(`${line(1)}\n${line(2)}\n{"a":"`), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
      /^file: line 3: is not valid UTF-8/,
    ],
    ["a \\u0000 escape", `{"a":"ok"}\n{"body":{"x":"a\\u0000b"}}`, /^file: line 2: body\.x: contains a NUL character/],
    ["an unpaired surrogate", `{"a":"\\ud800"}`, /^file: line 1: a: contains an unpaired UTF-16 surrogate/],
    ["an empty file", "", /^file: is empty/],
  ];
  for (const [what, data, message] of cases) {
    const res = await upload(batchFile(data));
    expect([what, res.status, res.body.error?.type, res.body.error?.param]).toEqual([what, 400, "invalid_request_error", "file"]);
    expect([what, res.body.error?.message]).toEqual([what, expect.stringMatching(message)]);
  }
  expect(await fileCount("ten_demo")).toBe(before);
});

test("bad forms are a 4xx naming the field", async () => {
  const before = await fileCount("ten_demo");
  const expectError = async (res: Awaited<ReturnType<typeof upload>>, status: number, param: string | undefined, message: RegExp) => {
    expect({ status: res.status, param: res.body.error?.param }).toEqual({ status, param });
    expect(res.body.error?.message).toMatch(message);
  };
  await expectError(await upload([{ name: "file", value: jsonl(1), filename: "a.jsonl" }]), 400, "purpose", /^purpose: required/);
  await expectError(
    await upload([
      { name: "purpose", value: "fine-tune" },
      { name: "file", value: jsonl(1), filename: "a.jsonl" },
    ]),
    400,
    "purpose",
    /^purpose: must be one of batch/,
  );
  await expectError(await upload([{ name: "purpose", value: "batch" }]), 400, "file", /^file: required/);
  await expectError(await upload([...batchFile(jsonl(1)), { name: "file", value: jsonl(1), filename: "b.jsonl" }]), 400, "file", /one file per upload/);
  await expectError(await upload([...batchFile(jsonl(1)), { name: "colour", value: "red" }]), 400, "colour", /^unknown field: colour/);
  const expiry = (anchor: string | null, seconds: string | null) => [
    ...batchFile(jsonl(1)),
    ...(anchor === null ? [] : [{ name: "expires_after[anchor]", value: anchor }]),
    ...(seconds === null ? [] : [{ name: "expires_after[seconds]", value: seconds }]),
  ];
  await expectError(await upload(expiry(null, "3600")), 400, "expires_after[anchor]", /required/);
  await expectError(await upload(expiry("created_at", null)), 400, "expires_after[seconds]", /required/);
  await expectError(await upload(expiry("last_active_at", "3600")), 400, "expires_after[anchor]", /must be created_at/);
  await expectError(await upload(expiry("created_at", "3599")), 400, "expires_after[seconds]", /3600 \(1 hour\) to 2592000/);
  await expectError(await upload(expiry("created_at", "2592001")), 400, "expires_after[seconds]", /3600 \(1 hour\) to 2592000/);
  await expectError(await upload(expiry("created_at", "1e4")), 400, "expires_after[seconds]", /integer/);
  await expectError(
    await upload([
      { name: "purpose", value: "batch" },
      { name: "upload", value: jsonl(1), filename: "a.jsonl" },
    ]),
    400,
    "upload",
    /the file goes in `file`/,
  );

  const asJson = await fetch(`${base}/v1/files`, {
    method: "POST",
    headers: { authorization: `Bearer ${keyA}`, "content-type": "application/json" },
    body: JSON.stringify({ purpose: "batch", file: "x" }),
  });
  expect(asJson.status).toBe(415);
  expect(((await asJson.json()) as { error: { message: string } }).error.message).toMatch(/multipart\/form-data/);

  const broken = await fetch(`${base}/v1/files`, {
    method: "POST",
    headers: { authorization: `Bearer ${keyA}`, "content-type": "multipart/form-data; boundary=xyz" },
    body: '--xyz\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n{}',
  });
  expect(broken.status).toBe(400);

  const noKey = await fetch(`${base}/v1/files`, { method: "POST", body: new FormData() });
  expect(noKey.status).toBe(401);
  expect(await fileCount("ten_demo")).toBe(before);
});

test("size and line limits: 413 over the byte limit (declared or streamed), 400 over the line limit", async () => {
  const before = await fileCount("ten_demo");
  const sixLines = Array.from({ length: 6 }, (_, i) => `{"i":${i}}`).join("\n");
  const tooMany = await upload(batchFile(sixLines), { url: smallBase });
  expect({ status: tooMany.status, param: tooMany.body.error?.param }).toEqual({ status: 400, param: "file" });
  expect(tooMany.body.error?.message).toMatch(/more than 5 lines/);
  expect((await upload(batchFile(sixLines.split("\n").slice(0, 5).join("\n")), { url: smallBase })).status).toBe(200);

  const big = `{"pad":"${"x".repeat(2100)}"}`;
  const over = await upload(batchFile(big), { url: smallBase });
  expect({ status: over.status, code: over.body.error?.code, param: over.body.error?.param }).toEqual({
    status: 413,
    code: "payload_too_large",
    param: "file",
  });
  // A Content-Length far past the limit is refused before the body is read.
  const huge = await upload(batchFile("x".repeat(100_000)), { url: smallBase });
  expect(huge.status).toBe(413);
  // Streamed without a length (chunked): the same 413.
  const chunked = await new Promise<number>((resolve, reject) => {
    const boundary = "b0undary";
    const req = http.request(
      `${smallBase}/v1/files`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${keyA}`, "content-type": `multipart/form-data; boundary=${boundary}`, "transfer-encoding": "chunked" },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("error", reject);
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n`);
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n`);
    req.write(big);
    req.end(`\r\n--${boundary}--\r\n`);
  });
  expect(chunked).toBe(413);
  expect(await fileCount("ten_demo")).toBe(before + 1);

  // The real app's default line limit (50 000).
  const lines = Array.from({ length: 50_001 }, () => "{}").join("\n");
  const real = await upload(batchFile(lines));
  expect({ status: real.status, message: real.body.error?.message }).toEqual({ status: 400, message: expect.stringMatching(/more than 50000 lines/) });
});

test("expires_after sets expires_at (default 30 days for batch files); an expired file is 404 at once and the sweep deletes it, counted", async () => {
  const plain = await client.files.create({ file: new File([jsonl(1)], "plain.jsonl"), purpose: "batch" });
  expect(plain.expires_at).toBe(plain.created_at + 2_592_000);
  const short = await client.files.create({
    file: new File([jsonl(2)], "short.jsonl"),
    purpose: "batch",
    expires_after: { anchor: "created_at", seconds: 3600 },
  });
  expect(FileObject.parse(short)).toEqual(short);
  expect(short.expires_at).toBe(short.created_at + 3600);
  expect(short.status_details).toBeNull();
  expect((await client.files.retrieve(short.id)).expires_at).toBe(short.expires_at);
  expect(await storedBytes(short.id)).not.toEqual({ chunks: [], object: null });

  // An hour passes for `short` (its expiry moved into the past): it is no longer served or listed.
  await database.db
    .updateTable("files")
    .set({ expires_at: new Date(Date.now() - 1000) })
    .where("id", "=", short.id)
    .execute();
  await expect(client.files.retrieve(short.id)).rejects.toBeInstanceOf(NotFoundError);
  await expect(client.files.content(short.id)).rejects.toBeInstanceOf(NotFoundError);
  expect((await client.files.list({ purpose: "batch" })).data.map((f) => f.id)).not.toContain(short.id);
  await expect(client.batches.create({ input_file_id: short.id, endpoint: "/v1/chat/completions", completion_window: "24h" })).rejects.toBeInstanceOf(
    NotFoundError,
  );

  // The sweep deletes it (row and bytes), counts it, and leaves the unexpired one alone.
  expect(await sweepExpiredFiles(gw.resources)).toBeGreaterThanOrEqual(1);
  expect(await database.db.selectFrom("files").select("id").where("id", "=", short.id).execute()).toEqual([]);
  expect(await storedBytes(short.id)).toEqual({ chunks: [], object: null });
  expect((await client.files.retrieve(plain.id)).id).toBe(plain.id);
  expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/ai_files_expired_total\{purpose="batch"\} [1-9]/);
  await client.files.delete(plain.id);
});

test("uploads are counted in ai_file_uploads_total{purpose,result}", async () => {
  const text = await (await fetch(`${base}/metrics`)).text();
  expect(text).toMatch(/ai_file_uploads_total\{purpose="batch",result="stored"\} [1-9]/);
  expect(text).toMatch(/ai_file_uploads_total\{purpose="batch",result="rejected"\} [1-9]/);
});
