import { startFakeS3, type FakeS3 } from "@switchyard/testkit";
import { S3Error, S3FileContents, signV4 } from "./s3-file-contents";

/**
 * S3FileContents against testkit's fake S3, which recomputes each request's SigV4 signature from
 * the secret: PUT, streamed GET, DELETE, S3's errors surfaced by code; and the signer against
 * AWS's own published example (GET Object, examplebucket, 2013-05-24).
 */
let s3: FakeS3;
beforeAll(async () => {
  s3 = await startFakeS3({ bucket: "yard-files", region: "eu-west-1" });
});
afterAll(async () => s3?.close());

const storeWith = (over: Partial<ConstructorParameters<typeof S3FileContents>[0]> = {}) =>
  new S3FileContents({ endpoint: s3.url, bucket: s3.bucket, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, ...over });

async function readAll(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

test("the signer reproduces AWS's documented SigV4 example signature", () => {
  const payloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  const { signature, authorization } = signV4({
    method: "GET",
    path: "/test.txt",
    headers: { host: "examplebucket.s3.amazonaws.com", range: "bytes=0-9", "x-amz-content-sha256": payloadHash, "x-amz-date": "20130524T000000Z" },
    payloadHash,
    region: "us-east-1",
    accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    amzDate: "20130524T000000Z",
  });
  expect(signature).toBe("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  expect(authorization).toBe(
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
  );
});

test("PUT, GET (streamed, exact bytes) and DELETE an object, every request signed and accepted", async () => {
  const store = storeWith();
  expect(store.name).toBe("s3:yard-files");
  const data = Buffer.concat([Buffer.from('{"a":"é"}\n'), Buffer.alloc(3 * 1024 * 1024, 7)]);
  await store.write("file_abc123def456", data);
  expect(s3.objects.get("files/file_abc123def456")?.data.equals(data)).toBe(true);
  expect(s3.objects.get("files/file_abc123def456")?.etag).toMatch(/^"[0-9a-f]{32}"$/);
  expect((await readAll(store.read("file_abc123def456"))).equals(data)).toBe(true);
  await store.remove("file_abc123def456");
  expect(s3.objects.has("files/file_abc123def456")).toBe(false);
  // Removing what is not there is no error (S3 answers 204).
  await store.remove("file_abc123def456");
  expect(s3.requests.every((r) => r.status < 300)).toBe(true);
});

test("a missing object is S3's 404 NoSuchKey, surfaced by code", async () => {
  const err = await readAll(storeWith().read("file_missing000000")).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(S3Error);
  expect(err).toMatchObject({ status: 404, code: "NoSuchKey" });
});

test("the fake refuses a wrong secret, an unknown key and a skewed clock: the signature is really checked", async () => {
  const bad = await storeWith({ secretAccessKey: "not-the-secret" })
    .write("file_x0000000000", Buffer.from("{}"))
    .catch((e: unknown) => e);
  expect(bad).toMatchObject({ status: 403, code: "SignatureDoesNotMatch" });
  const unknown = await storeWith({ accessKeyId: "AKIDNOBODY" })
    .write("file_x0000000000", Buffer.from("{}"))
    .catch((e: unknown) => e);
  expect(unknown).toMatchObject({ status: 403, code: "InvalidAccessKeyId" });
  const skewed = await storeWith({ now: () => Date.now() - 3600_000 })
    .write("file_x0000000000", Buffer.from("{}"))
    .catch((e: unknown) => e);
  expect(skewed).toMatchObject({ status: 403, code: "RequestTimeTooSkewed" });
  expect(s3.objects.has("files/file_x0000000000")).toBe(false);
});

test("an endpoint with a path prefix and keys needing encoding sign and round-trip", async () => {
  const store = storeWith({ prefix: "tenant a/files+x/" });
  await store.write("file_enc0000000001", Buffer.from("x"));
  expect(s3.objects.has("tenant a/files+x/file_enc0000000001")).toBe(true);
  expect((await readAll(store.read("file_enc0000000001"))).toString()).toBe("x");
});
