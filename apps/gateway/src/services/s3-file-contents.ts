import { createHash, createHmac } from "node:crypto";
import type { FileContentStore } from "@switchyard/db";

/** Where an S3-compatible bucket is and how to sign for it (FILE_STORE=s3). */
export interface S3Options {
  /** Base URL of the S3 API, e.g. `https://s3.eu-west-1.amazonaws.com` or `http://127.0.0.1:9000` (MinIO); requests are path-style. */
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Key prefix of file objects. Default `files/`. */
  prefix?: string;
  /** Bound on one request, ms. Default 30 000. */
  timeoutMs?: number;
  /** Clock (tests). Default `Date.now`. */
  now?: () => number;
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it: unreserved characters kept, everything else %XX (uppercase); `/` kept in paths. */
export const awsEncode = (s: string, keepSlash = false) =>
  encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(keepSlash ? /%2F/g : /$^/, "/");

/** The inputs of one signature: the request as it goes on the wire (path already encoded, query as pairs). */
export interface SignInput {
  method: string;
  /** The encoded path, e.g. `/bucket/files/file_abc`. */
  path: string;
  query?: Array<[string, string]>;
  /** Headers to sign (lowercase names); `host` must be one. */
  headers: Record<string, string>;
  /** Hex SHA-256 of the body (or `UNSIGNED-PAYLOAD`). */
  payloadHash: string;
  region: string;
  service?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `YYYYMMDDTHHMMSSZ`. */
  amzDate: string;
}

/**
 * AWS Signature Version 4 (header form): the canonical request, the string to sign, the signing
 * key derived from the secret by the HMAC chain (date, region, service, `aws4_request`), and the
 * `Authorization` header value.
 */
export function signV4(i: SignInput): { authorization: string; signature: string; canonicalRequest: string } {
  const service = i.service ?? "s3";
  const names = Object.keys(i.headers)
    .map((h) => h.toLowerCase())
    .sort();
  const lower = Object.fromEntries(Object.entries(i.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const canonicalHeaders = names.map((h) => `${h}:${String(lower[h]).trim().replace(/\s+/g, " ")}\n`).join("");
  const signedHeaders = names.join(";");
  const query = [...(i.query ?? [])]
    .map(([k, v]) => [awsEncode(k), awsEncode(v)] as const)
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonicalRequest = [i.method, i.path, query, canonicalHeaders, signedHeaders, i.payloadHash].join("\n");
  const date = i.amzDate.slice(0, 8);
  const scope = `${date}/${i.region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", i.amzDate, scope, sha256(canonicalRequest)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${i.secretAccessKey}`, date), i.region), service), "aws4_request");
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=${i.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    signature,
    canonicalRequest,
  };
}

/** An S3 error answer: its HTTP status and, from the XML body, S3's `Code` and `Message`. */
export class S3Error extends Error {
  override readonly name = "S3Error";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const xmlField = (xml: string, tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];

/**
 * File bytes as objects in an S3-compatible bucket (AWS S3, MinIO, R2, Ceph RGW...): one object per
 * file (`<prefix><file id>`), PUT whole, GET streamed, DELETE; every request signed with SigV4
 * (node:crypto only), path-style (`<endpoint>/<bucket>/<key>`), so any endpoint works without DNS
 * per bucket. `files.storage` records `s3:<bucket>`.
 */
export class S3FileContents implements FileContentStore {
  readonly name: string;
  private readonly base: URL;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly o: S3Options) {
    this.name = `s3:${o.bucket}`;
    this.base = new URL(o.endpoint);
    this.prefix = o.prefix ?? "files/";
    this.timeoutMs = o.timeoutMs ?? 30_000;
    this.now = o.now ?? Date.now;
  }

  private async request(method: "PUT" | "GET" | "DELETE", fileId: string, body?: Buffer): Promise<Response> {
    const basePath = this.base.pathname.replace(/\/+$/, "");
    const path = `${basePath}/${awsEncode(this.o.bucket)}/${awsEncode(this.prefix + fileId, true)}`;
    const amzDate = new Date(this.now())
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d{3}/, "");
    const payloadHash = sha256(body ?? Buffer.alloc(0));
    const headers: Record<string, string> = { host: this.base.host, "x-amz-content-sha256": payloadHash, "x-amz-date": amzDate };
    if (body) headers["content-length"] = String(body.length);
    const { authorization } = signV4({
      method,
      path,
      headers,
      payloadHash,
      region: this.o.region,
      accessKeyId: this.o.accessKeyId,
      secretAccessKey: this.o.secretAccessKey,
      amzDate,
    });
    const { host: _host, ...send } = headers;
    const res = await fetch(`${this.base.origin}${path}`, {
      method,
      headers: { ...send, authorization, ...(body ? { "content-type": "application/octet-stream" } : {}) },
      body: body ? new Uint8Array(body.buffer, body.byteOffset, body.length) : undefined,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    return res;
  }

  private async fail(res: Response, what: string): Promise<never> {
    const xml = await res.text().catch(() => "");
    const code = xmlField(xml, "Code") ?? `HTTP${res.status}`;
    throw new S3Error(res.status, code, `S3 ${what}: ${res.status} ${code}${xmlField(xml, "Message") ? `: ${xmlField(xml, "Message")}` : ""}`);
  }

  async write(fileId: string, data: Buffer): Promise<void> {
    const res = await this.request("PUT", fileId, data);
    if (!res.ok) return this.fail(res, `PUT ${fileId}`);
    await res.arrayBuffer();
  }

  async *read(fileId: string): AsyncIterable<Buffer> {
    const res = await this.request("GET", fileId);
    if (!res.ok) await this.fail(res, `GET ${fileId}`);
    if (!res.body) return;
    for await (const chunk of res.body) yield Buffer.from(chunk);
  }

  async remove(fileId: string): Promise<void> {
    const res = await this.request("DELETE", fileId);
    // S3 answers 204 whether or not the object was there; a 404 (some S3-compatibles) is no error either.
    if (!res.ok && res.status !== 404) return this.fail(res, `DELETE ${fileId}`);
    await res.arrayBuffer();
  }
}
