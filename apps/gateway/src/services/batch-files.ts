/** A batch's files: its input file read and checked into lines (validating), its output and error files written at its end. */
import type { BatchError } from "@switchyard/contracts";
import { deleteFile, moveBatch, recountBatch, settledResults, startBatchLines, storeFile, type BatchRow } from "@switchyard/db";
import type { GatewayResources } from "../resources";
import { checkLines, errorLine, type LineEndpoint } from "./batch-lines";
import type { Counter } from "./batch-runner-metrics";
import { fileStoreOf, readWholeFile, type FilesOptions } from "./files-service";
import { DEFAULT_FILE_LIMITS, parseJsonl } from "./jsonl-file";

/** Read the input file, check every line, write them all and start (one transaction). */
export async function validateBatch(r: GatewayResources, b: BatchRow, files: FilesOptions, linesCounter: Counter): Promise<void> {
  const data = await readWholeFile(r, b.tenant_id, b.input_file_id, files);
  const fail = (e: BatchError) => moveBatch(r.db, b.id, ["validating"], "failed", { errors: JSON.stringify({ object: "list", data: [e] }) });
  if (!data) {
    await fail({ code: "invalid_file", message: `input file ${b.input_file_id} no longer exists`, param: "input_file_id", line: null });
    return;
  }
  let values;
  try {
    values = parseJsonl(data, { ...DEFAULT_FILE_LIMITS, ...files.limits }.maxLines);
  } catch (err) {
    await fail({ code: "invalid_file", message: (err as Error).message, param: "input_file_id", line: null });
    return;
  }
  const lines = checkLines(b.endpoint as LineEndpoint, values).map((l) =>
    "error" in l
      ? {
          line: l.line,
          custom_id: l.custom_id,
          request: null,
          state: "invalid" as const,
          result: errorLine(b.id, l.line, l.custom_id, l.error.code, l.error.message),
        }
      : { line: l.line, custom_id: l.custom_id, request: l.request, state: "pending" as const, result: null },
  );
  // OpenAI's `model` of a batch: the model its lines name (the first valid line's).
  const first = lines.find((l) => l.request !== null && typeof l.request.model === "string");
  const model = first ? String(first.request!.model) : null;
  if (await startBatchLines(r.db, b.id, lines, model)) {
    const invalid = lines.filter((l) => l.state === "invalid").length;
    if (invalid) linesCounter.add(invalid, { endpoint: b.endpoint, result: "invalid" });
    await recountBatch(r.db, b.id);
    r.logger.info({ batchId: b.id, lines: lines.length, invalid: lines.filter((l) => l.state === "invalid").length }, "batch validated");
  }
}

/** Write the output and error files (ids derived from the batch: a rewrite replaces them) and end the batch; true if this call ended it. */
export async function finalizeBatch(
  r: GatewayResources,
  b: BatchRow,
  files: FilesOptions,
  from: BatchRow["status"],
  to: "completed" | "cancelled" | "expired",
): Promise<boolean> {
  const store = fileStoreOf(r, files);
  const out: string[] = [];
  const errs: string[] = [];
  for await (const s of settledResults(r.db, b.id)) (s.state === "done" ? out : errs).push(JSON.stringify(s.result));
  const suffix = b.id.slice(b.id.indexOf("_") + 1);
  const write = async (kind: "out" | "err", lines: string[], filename: string): Promise<string | null> => {
    const id = `file_${suffix}${kind}`;
    await deleteFile(r.db, b.tenant_id, id);
    if (lines.length === 0) return null;
    const data = Buffer.from(lines.join("\n") + "\n");
    await storeFile(
      r.db,
      store,
      {
        id,
        tenant_id: b.tenant_id,
        api_key_id: b.api_key_id,
        purpose: "batch_output",
        filename,
        bytes: data.length,
        line_count: lines.length,
        expires_after_seconds: b.output_expires_seconds,
      },
      data,
    );
    return id;
  };
  const outputId = await write("out", out, `${b.id}_output.jsonl`);
  const errorId = await write("err", errs, `${b.id}_error.jsonl`);
  await recountBatch(r.db, b.id);
  if (await moveBatch(r.db, b.id, [from], to, { output_file_id: outputId, error_file_id: errorId })) {
    r.logger.info({ batchId: b.id, status: to, outputs: out.length, errors: errs.length }, "batch finished");
    return true;
  }
  return false;
}
