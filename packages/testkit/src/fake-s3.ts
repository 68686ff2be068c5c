import { createHash, createHmac, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** Credentials and place of a {@link FakeS3}. */
export interface FakeS3Options {
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
  bucket?: string;
  /** Most clock skew accepted between `x-amz-date` and now, ms (S3's is 15 minutes). */
  maxSkewMs?: number;
}

export interface FakeS3Request {
  method: string;
  path: string;
  status: number;
  code?: string;
}

export interface FakeS3 {
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  bucket: string;
  /** Stored objects by key (without the bucket). */
  objects: Map<string, { data: Buffer; etag: string }>;
  /** Every request answered, in order, with its status and S3 error code when refused. */
  requests: FakeS3Request[];
  close(): Promise<void>;
}

const sha256 = (d: string | Buffer) => createHash("sha256").update(d).digest("hex");
const hmac = (k: string | Buffer, d: string) => createHmac("sha256", k).update(d).digest();
/** RFC 3986 query encoding, written here independently of the client's signer (a shared bug would pass both). */
const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());

/**
 * A fake S3-compatible object store for tests, speaking S3's REST wire format for path-style
 * PutObject / GetObject / DeleteObject on one bucket: `ETag` (quoted MD5) on PUT and GET, 204 on
 * DELETE, XML error bodies (`<Error><Code>NoSuchKey</Code>...`). Every request must carry a valid
 * AWS Signature V4 `Authorization` header: the fake recomputes the signature from the secret and
 * the request as received (method, raw path, query, the signed headers, `x-amz-content-sha256`,
 * checked against the body) and refuses a mismatch with 403 `SignatureDoesNotMatch`, an unknown
 * key with 403 `InvalidAccessKeyId`, a missing one with 403 `AccessDenied`.
 */
export async function startFakeS3(opts: FakeS3Options = {}): Promise<FakeS3> {
  const accessKeyId = opts.accessKeyId ?? "AKIDFAKES3" + randomBytes(4).toString("hex").toUpperCase();
  const secretAccessKey = opts.secretAccessKey ?? randomBytes(30).toString("base64");
  const region = opts.region ?? "us-east-1";
  const bucket = opts.bucket ?? "switchyard-test";
  const maxSkewMs = opts.maxSkewMs ?? 15 * 60_000;
  const objects = new Map<string, { data: Buffer; etag: string }>();
  const requests: FakeS3Request[] = [];

  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      const body = Buffer.concat(parts);
      const rawPath = (req.url ?? "/").split("?")[0]!;
      const rawQuery = (req.url ?? "").includes("?") ? (req.url ?? "").slice((req.url ?? "").indexOf("?") + 1) : "";
      const requestId = randomBytes(8).toString("hex").toUpperCase();
      const error = (status: number, code: string, message: string) => {
        requests.push({ method: req.method ?? "", path: rawPath, status, code });
        const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Resource>${rawPath}</Resource><RequestId>${requestId}</RequestId></Error>`;
        res.writeHead(status, { "Content-Type": "application/xml", "x-amz-request-id": requestId, "Content-Length": Buffer.byteLength(xml) });
        res.end(req.method === "HEAD" ? undefined : xml);
      };
      const ok = (status: number, headers: Record<string, string | number>, data?: Buffer) => {
        requests.push({ method: req.method ?? "", path: rawPath, status });
        res.writeHead(status, { "x-amz-request-id": requestId, ...headers });
        res.end(data);
      };

      // --- SigV4 verification ---
      const auth = req.headers.authorization;
      if (!auth) return error(403, "AccessDenied", "Access Denied");
      const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
      if (!m) return error(400, "AuthorizationHeaderMalformed", "The authorization header is malformed");
      const [, akid, date, reg, signedHeaders, signature] = m as unknown as [string, string, string, string, string, string];
      if (akid !== accessKeyId) return error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.");
      if (reg !== region) return error(400, "AuthorizationHeaderMalformed", `the region '${reg}' is wrong; expecting '${region}'`);
      const amzDate = String(req.headers["x-amz-date"] ?? "");
      const t = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
      if (!t || amzDate.slice(0, 8) !== date) return error(403, "AccessDenied", "x-amz-date is missing or does not match the credential scope");
      const when = Date.UTC(+t[1]!, +t[2]! - 1, +t[3]!, +t[4]!, +t[5]!, +t[6]!);
      if (Math.abs(Date.now() - when) > maxSkewMs)
        return error(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.");
      const payloadHash = String(req.headers["x-amz-content-sha256"] ?? "");
      if (!payloadHash) return error(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256");
      if (payloadHash !== "UNSIGNED-PAYLOAD" && payloadHash !== sha256(body))
        return error(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.");
      const names = signedHeaders.split(";");
      if (!names.includes("host") || !names.includes("x-amz-date")) return error(403, "AccessDenied", "host and x-amz-date must be signed");
      const canonicalHeaders = names
        .map(
          (h) =>
            `${h}:${String(req.headers[h] ?? "")
              .trim()
              .replace(/\s+/g, " ")}\n`,
        )
        .join("");
      const canonicalQuery = rawQuery
        ? rawQuery
            .split("&")
            .map((kv) => kv.split("=").map((x) => enc(decodeURIComponent(x ?? ""))))
            .map(([k, v]) => `${k}=${v ?? ""}`)
            .sort()
            .join("&")
        : "";
      const canonicalRequest = [req.method, rawPath, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join("\n");
      const scope = `${date}/${region}/s3/aws4_request`;
      const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256(canonicalRequest)}`;
      const key = hmac(hmac(hmac(hmac("AWS4" + secretAccessKey, date), region), "s3"), "aws4_request");
      if (createHmac("sha256", key).update(toSign).digest("hex") !== signature)
        return error(
          403,
          "SignatureDoesNotMatch",
          "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        );

      // --- path-style object operations on the one bucket ---
      const segs = rawPath.split("/").slice(1);
      if (decodeURIComponent(segs[0] ?? "") !== bucket) return error(404, "NoSuchBucket", "The specified bucket does not exist");
      const objectKey = decodeURIComponent(segs.slice(1).join("/"));
      if (!objectKey) return error(400, "InvalidRequest", "an object key is required");
      switch (req.method) {
        case "PUT": {
          const etag = `"${createHash("md5").update(body).digest("hex")}"`;
          objects.set(objectKey, { data: body, etag });
          return ok(200, { ETag: etag, "Content-Length": 0 });
        }
        case "GET": {
          const o = objects.get(objectKey);
          if (!o) return error(404, "NoSuchKey", "The specified key does not exist.");
          return ok(200, { ETag: o.etag, "Content-Type": "application/octet-stream", "Content-Length": o.data.length }, o.data);
        }
        case "DELETE":
          objects.delete(objectKey);
          return ok(204, {});
        default:
          return error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    accessKeyId,
    secretAccessKey,
    region,
    bucket,
    objects,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
