import { BATCH_ENDPOINTS, BatchList, BatchObject } from "@switchyard/contracts";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { gatewayApi, queryString, seg, type AdminApi, type ApiArea } from "../admin-api";
import { CliError, withSubcommands, type CliContext, type Command } from "../command";
import { choiceFlag, intFlag, limitFlag, optionalFlag, parseCommandLine } from "../flags";
import { fields, output, table } from "../format";
import { createProgress } from "../progress";

/** The tenant API (`/v1/…`) with a tenant key: `--key`, else `SWITCHYARD_API_KEY`. */
const TENANT_AREA: ApiArea = { root: "/v1", keyEnv: "SWITCHYARD_API_KEY", keyWhat: "the jobs:write and jobs:read scopes" };

const API_FLAGS_TENANT = { url: { type: "string" }, key: { type: "string" }, json: { type: "boolean" } } as const;
const API_HELP = [
  "  --url URL       the gateway (default $SWITCHYARD_URL, else http://127.0.0.1:8080)",
  "  --key KEY       a key with the jobs:write and jobs:read scopes (default $SWITCHYARD_API_KEY)",
  "  --json          print the API's JSON answer (the batch object) instead of text",
];

/** Statuses a batch does not leave. */
const ENDED = new Set<BatchObject["status"]>(["completed", "failed", "expired", "cancelled"]);

/** Most lines a batch may hold that `--limit` pages of the list allow. */
const LIST_MAX = 100;

const time = (s: number | null) => (s === null ? null : new Date(s * 1000).toISOString());
const done = (b: BatchObject) => b.request_counts.completed + b.request_counts.failed;
/** The status as one word, with why a running batch is paused. */
const statusOf = (b: BatchObject) => (b.paused_reason ? `${b.status} (paused: ${b.paused_reason})` : b.status);

const getBatch = async (api: AdminApi, id: string) => BatchObject.parse((await api.call<unknown>("GET", `/batches/${seg(id)}`)).body);

function describe(b: BatchObject): string {
  return fields([
    ["id", b.id],
    ["status", statusOf(b)],
    ["endpoint", b.endpoint],
    ["model", b.model],
    ["requests", `${b.request_counts.total} total, ${b.request_counts.completed} completed, ${b.request_counts.failed} failed`],
    ["input file", b.input_file_id],
    ["output file", b.output_file_id],
    ["error file", b.error_file_id],
    ["created", time(b.created_at)],
    ["expires", time(b.expires_at)],
    ["ended", time(b.completed_at ?? b.failed_at ?? b.expired_at ?? b.cancelled_at)],
    ...(b.paused_at !== null ? ([["paused since", time(b.paused_at)]] as const) : []),
    ...(b.errors ? ([["errors", b.errors.data.map((e) => `${e.code}: ${e.message}`).join("; ")]] as const) : []),
  ]);
}

/** Download a file's bytes to `to`; returns `to`. */
async function download(api: AdminApi, fileId: string, to: string): Promise<string> {
  const res = await api.send("GET", `/files/${seg(fileId)}/content`);
  await writeFile(to, Buffer.from(await res.arrayBuffer()));
  return to;
}

/** Write a finished batch's output and error files (those it has) to `out` and `errs`; the paths written. */
async function saveResults(api: AdminApi, b: BatchObject, out: string, errs: string): Promise<{ output: string | null; errors: string | null }> {
  return {
    output: b.output_file_id ? await download(api, b.output_file_id, out) : null,
    errors: b.error_file_id ? await download(api, b.error_file_id, errs) : null,
  };
}

/** `x.jsonl` → `x.<suffix>.jsonl` (beside it). */
const beside = (file: string, suffix: string) => {
  const ext = path.extname(file);
  return `${ext ? file.slice(0, -ext.length) : file}.${suffix}${ext || ".jsonl"}`;
};

/** Poll a batch until it ends, its progress (settled lines of total) on stderr. */
async function waitForEnd(ctx: CliContext, api: AdminApi, first: BatchObject, pollMs: number): Promise<BatchObject> {
  const progress = createProgress(ctx.stderr, first.request_counts.total);
  let b = first;
  for (;;) {
    progress.set(done(b), b.request_counts.total, statusOf(b));
    if (ENDED.has(b.status)) break;
    await new Promise((r) => setTimeout(r, pollMs));
    b = await getBatch(api, b.id);
  }
  progress.done();
  return b;
}

const submit: Command = {
  summary: "Upload a JSONL file and run it as a batch; --wait follows it and writes its results",
  help: [
    "Usage: switchyard batches submit <file.jsonl> [--endpoint E] [--wait] [--output OUT] [--errors ERR] [--json]",
    "",
    "Uploads the file (POST /v1/files, purpose batch) and creates a batch of it (POST /v1/batches,",
    "completion window 24h). Each line is one request: {custom_id, method: POST, url, body}.",
    "Without --wait it prints the batch and returns; follow it with `switchyard batches get <id>`.",
    "",
    `  --endpoint E    ${BATCH_ENDPOINTS.join(", ")} (default /v1/chat/completions)`,
    "  --wait          follow the batch until it ends, a progress bar of its settled lines on stderr",
    "                  (paused: budget_exhausted when its budget holds it), then write its output",
    "                  file to --output and its error file (when it has one) to --errors;",
    "                  exit 1 unless it completed",
    "  --output OUT    where --wait writes the output file (default <file>.output.jsonl)",
    "  --errors ERR    where --wait writes the error file (default <output>.errors.jsonl)",
    "  --poll-ms N     how often --wait reads the batch, ms (default 1000)",
    ...API_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const { values: f, positionals } = parseCommandLine(
      args,
      {
        ...API_FLAGS_TENANT,
        endpoint: { type: "string" },
        wait: { type: "boolean" },
        output: { type: "string" },
        errors: { type: "string" },
        "poll-ms": { type: "string" },
      },
      ["file.jsonl"],
    );
    const [file] = positionals;
    const endpoint = choiceFlag(f.endpoint, "--endpoint", BATCH_ENDPOINTS) ?? "/v1/chat/completions";
    const out = optionalFlag(f.output, "--output") ?? beside(file, "output");
    const errs = optionalFlag(f.errors, "--errors") ?? beside(out, "errors");
    const pollMs = intFlag(f["poll-ms"], "--poll-ms", 10) ?? 1000;
    const api = gatewayApi(ctx, f, TENANT_AREA);
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (err) {
      throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2);
    }
    const form = new FormData();
    form.set("purpose", "batch");
    form.set("file", new Blob([new Uint8Array(data)], { type: "application/jsonl" }), path.basename(file));
    const uploaded = (await (await api.send("POST", "/files", { body: form, headers: { accept: "application/json" } })).json()) as { id: string };
    const created = BatchObject.parse(
      (await api.call<unknown>("POST", "/batches", { body: { input_file_id: uploaded.id, endpoint, completion_window: "24h" } })).body,
    );
    if (!f.wait) {
      output(ctx, f.json, created, () => `${describe(created)}\nfollow it: switchyard batches get ${created.id}`);
      return;
    }
    ctx.stderr.write(`batch ${created.id} created from ${file} (${uploaded.id})\n`);
    const b = await waitForEnd(ctx, api, created, pollMs);
    const saved = await saveResults(api, b, out, errs);
    output(ctx, f.json, b, () =>
      [describe(b), `output written to ${saved.output ?? "- (no output file)"}`, `errors written to ${saved.errors ?? "- (no error file)"}`].join("\n"),
    );
    if (b.status !== "completed") throw new CliError(`batch ${b.id} ended ${b.status}${b.errors ? `: ${b.errors.data.map((e) => e.message).join("; ")}` : ""}`);
  },
};

const list: Command = {
  summary: "List the tenant's batches, newest first",
  help: [
    "Usage: switchyard batches list [--limit N] [--after ID] [--json]",
    "",
    `  --limit N       batches per page, 1 to ${LIST_MAX} (default 20)`,
    "  --after ID      the next page: the id printed after the previous one",
    ...API_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const { values: f } = parseCommandLine(args, { ...API_FLAGS_TENANT, limit: { type: "string" }, after: { type: "string" } }, []);
    const limit = limitFlag(f.limit, LIST_MAX);
    const after = optionalFlag(f.after, "--after");
    const body = BatchList.parse((await gatewayApi(ctx, f, TENANT_AREA).call<unknown>("GET", `/batches${queryString({ limit, after })}`)).body);
    output(ctx, f.json, body, () => {
      if (!body.data.length) return "no batches";
      const text = table(
        ["ID", "CREATED", "STATUS", "ENDPOINT", "DONE/TOTAL", "FAILED"],
        body.data.map((b) => [b.id, time(b.created_at), statusOf(b), b.endpoint, `${done(b)}/${b.request_counts.total}`, b.request_counts.failed]),
      );
      return body.has_more && body.last_id
        ? `${text}\nmore: switchyard batches list${limit !== undefined ? ` --limit ${limit}` : ""} --after ${body.last_id}`
        : text;
    });
  },
};

const get: Command = {
  summary: "A batch: status, request counts, files (--output/--errors download its results)",
  help: [
    "Usage: switchyard batches get <batch_id> [--output OUT] [--errors ERR] [--json]",
    "",
    "  --output OUT    write the batch's output file there (when it has one)",
    "  --errors ERR    write the batch's error file there (when it has one)",
    ...API_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const { values: f, positionals } = parseCommandLine(args, { ...API_FLAGS_TENANT, output: { type: "string" }, errors: { type: "string" } }, ["batch_id"]);
    const api = gatewayApi(ctx, f, TENANT_AREA);
    const b = await getBatch(api, positionals[0]);
    const out = optionalFlag(f.output, "--output");
    const errs = optionalFlag(f.errors, "--errors");
    const written: string[] = [];
    if (out && b.output_file_id) written.push(`output written to ${await download(api, b.output_file_id, out)}`);
    if (errs && b.error_file_id) written.push(`errors written to ${await download(api, b.error_file_id, errs)}`);
    output(ctx, f.json, b, () => [describe(b), ...written].join("\n"));
  },
};

const cancel: Command = {
  summary: "Cancel a batch (cancelling, then cancelled once its unfinished lines are)",
  help: [
    "Usage: switchyard batches cancel <batch_id> [--json]",
    "",
    "Finished lines keep their answers; the rest go to the error file as batch_cancelled.",
    ...API_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const { values: f, positionals } = parseCommandLine(args, API_FLAGS_TENANT, ["batch_id"]);
    const b = BatchObject.parse((await gatewayApi(ctx, f, TENANT_AREA).call<unknown>("POST", `/batches/${seg(positionals[0])}/cancel`)).body);
    output(ctx, f.json, b, () => describe(b));
  },
};

/** `switchyard batches …`: the Batch API (`/v1/batches`, `/v1/files`) with a tenant key. */
export const batches = withSubcommands("batches", "Batches of the key's tenant: submit a JSONL file, follow it, fetch its results (tenant API)", {
  submit,
  list,
  get,
  cancel,
});
