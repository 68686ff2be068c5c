import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

/** An attribute value as OTLP carries it, turned into plain JSON. */
export type OtlpValue = string | number | boolean | null | OtlpValue[] | { [key: string]: OtlpValue };

/** One span the fake collector received, flattened out of OTLP's resource/scope nesting. */
export interface ReceivedSpan {
  /** 32 hex digits. */
  traceId: string;
  /** 16 hex digits. */
  spanId: string;
  /** 16 hex digits; `null` for a root span. */
  parentSpanId: string | null;
  name: string;
  /** `service.name` of the resource that sent it. */
  serviceName: string | null;
  /** OTLP's span kind number (1 internal, 2 server, 3 client, 4 producer, 5 consumer). */
  kind: number;
  attributes: Record<string, OtlpValue>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string | null;
  /** Names of the span's events (e.g. `exception`). */
  events: string[];
}

/** A running fake OTLP/HTTP collector on loopback. */
export interface FakeOtlp {
  /** `http://127.0.0.1:<port>`: what `OTEL_EXPORTER_OTLP_ENDPOINT` is set to (exporters add `/v1/traces`). */
  url: string;
  /** Every span so far, in arrival order. */
  spans: ReceivedSpan[];
  /** Export requests answered so far (each may hold many spans). */
  requests(): number;
  /** Resolves with the spans so far once `predicate` holds for them; rejects after `timeoutMs` (default 20 s). */
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

interface AnyValueJson {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  bytesValue?: string;
  arrayValue?: { values?: AnyValueJson[] };
  kvlistValue?: { values?: KeyValueJson[] };
}
interface KeyValueJson {
  key: string;
  value?: AnyValueJson;
}
interface SpanJson {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  attributes?: KeyValueJson[];
  status?: { code?: number; message?: string };
  events?: Array<{ name: string }>;
}
interface ExportRequestJson {
  resourceSpans?: Array<{ resource?: { attributes?: KeyValueJson[] }; scopeSpans?: Array<{ spans?: SpanJson[] }> }>;
}

function value(v: AnyValueJson | undefined): OtlpValue {
  if (!v) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.bytesValue !== undefined) return v.bytesValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(value);
  if (v.kvlistValue) return attributes(v.kvlistValue.values);
  return null;
}

function attributes(list: KeyValueJson[] | undefined): Record<string, OtlpValue> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));
}

/** OTLP/JSON ids are hex; the protobuf-JSON mapping would make them base64: accept both. */
function hexId(id: string | undefined, bytes: number): string | null {
  if (!id) return null;
  if (new RegExp(`^[0-9a-f]{${bytes * 2}}$`, "i").test(id)) return /^0+$/.test(id) ? null : id.toLowerCase();
  const hex = Buffer.from(id, "base64").toString("hex");
  return hex.length === bytes * 2 && !/^0+$/.test(hex) ? hex : null;
}

/** Flatten one OTLP `ExportTraceServiceRequest` (JSON) into spans. */
export function flattenOtlpTraces(body: unknown): ReceivedSpan[] {
  const req = body as ExportRequestJson;
  return (req.resourceSpans ?? []).flatMap((rs) => {
    const service = attributes(rs.resource?.attributes)["service.name"];
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        traceId: hexId(s.traceId, 16) ?? "",
        spanId: hexId(s.spanId, 8) ?? "",
        parentSpanId: hexId(s.parentSpanId, 8),
        name: s.name,
        serviceName: typeof service === "string" ? service : null,
        kind: s.kind ?? 0,
        attributes: attributes(s.attributes),
        statusCode: s.status?.code ?? 0,
        statusMessage: s.status?.message ?? null,
        events: (s.events ?? []).map((e) => e.name),
      })),
    );
  });
}

/**
 * A loopback HTTP server standing in for an OpenTelemetry collector: accepts OTLP/HTTP JSON
 * (`Content-Type: application/json`, gzip or not) at `POST /v1/traces`, answers `{}` (a full
 * success), and keeps the spans flattened. Protobuf is refused with 415, any other path 404.
 */
export async function startFakeOtlp(): Promise<FakeOtlp> {
  const spans: ReceivedSpan[] = [];
  let requests = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const answer = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (req.method !== "POST" || (req.url ?? "").split("?")[0] !== "/v1/traces") return answer(404, { error: `no route ${req.method} ${req.url}` });
      if (!(req.headers["content-type"] ?? "").startsWith("application/json")) return answer(415, { error: "the fake collector speaks OTLP/HTTP JSON only" });
      try {
        let raw = Buffer.concat(chunks);
        if (req.headers["content-encoding"] === "gzip") raw = gunzipSync(raw);
        spans.push(...flattenOtlpTraces(JSON.parse(raw.toString("utf8"))));
        requests++;
        answer(200, {});
      } catch (err) {
        answer(400, { error: (err as Error).message });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    requests: () => requests,
    async waitFor(predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(spans)) {
        if (Date.now() > deadline)
          throw new Error(
            `fake OTLP collector: condition not met within ${timeoutMs} ms; ${spans.length} spans received: ${spans.map((s) => `${s.serviceName}/${s.name}`).join(", ")}`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
      return spans;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
