import {
  ApiError,
  isApiError,
  isTerminalStatus,
  JobEvent,
  RESPONSE_ID,
  responseIdOf,
  type JobView,
  type ResponsesCreateRequest,
  type StoredResponse,
} from "@switchyard/contracts";
import { deleteResponse, findResponse, insertResponse, saveFinalResponse } from "@switchyard/db";
import type { Principal } from "@switchyard/contracts";
import type { GatewayResources } from "../resources";
import type { IncomingMessage } from "node:http";
import { deadlineError, followUntilEnd, type ClientDeadline } from "./client-deadline";
import { followEvents, terminalFromView, type FollowItem } from "./follow-events";
import { cancelJob, getJob, submitJob } from "./job-service";
import { mapResponsesRequest } from "./responses-request";
import { outputAsItems, ResponseRenderer, responseShell, responseStatusOf, type ResponseObject, type ResponsesEvent } from "./responses-render";

/** A job field and the Responses API field it was mapped from (`messages` holds `instructions`, the prior items and `input`). */
const RESPONSES_FIELD: Record<string, string> = { messages: "input", max_tokens: "max_output_tokens", response_format: "text.format" };

/**
 * An admission error about the job the request became, named in the Responses API's terms: a
 * client sent `input` and `max_output_tokens`, never `messages` or `max_tokens`.
 */
function inResponsesTerms(err: ApiError): ApiError {
  const head = err.param?.match(/^[a-z_]+/)?.[0];
  const field = head === undefined ? undefined : RESPONSES_FIELD[head];
  if (field === undefined) return err;
  const param = head === "messages" ? field : `${field}${err.param!.slice(head!.length)}`;
  const message = err.message.startsWith(err.param!) ? `${param}${err.message.slice(err.param!.length)}` : err.message;
  return new ApiError(err.code, message.replace(/\bmax_tokens\b/g, "max_output_tokens"), param, err.headers);
}

const notFound = (id: string) => new ApiError("not_found", `No response found with id '${id}'.`, "response_id");

/**
 * `/v1/responses` as a rendering of a job: create admits a job through `submitJob` (keys,
 * idempotency, limits, budgets) and stores the response record; every read renders the job.
 */
export async function createResponse(r: GatewayResources, p: Principal, body: ResponsesCreateRequest, idempotencyKey: string | undefined) {
  const mapped = mapResponsesRequest(body);
  let prior: StoredResponse["input_items"] = [];
  const previousId = body.previous_response_id ?? null;
  if (previousId) {
    const prev = await findOwned(r, p, previousId).catch(() => null);
    if (!prev) throw new ApiError("not_found", `Previous response with id '${previousId}' not found.`, "previous_response_id");
    const final = await currentResponse(r, p, prev);
    if (final.status === "queued" || final.status === "in_progress")
      throw new ApiError("invalid_request", `previous_response_id: response ${previousId} is still ${final.status}`, "previous_response_id");
    prior = [...prev.input_items, ...outputAsItems(final)];
  }
  const jobRequest = mapped.toJob(prior);
  const submitted = await submitJob(r, p, jobRequest, idempotencyKey).catch((err: unknown) => {
    throw isApiError(err) ? inResponsesTerms(err) : err;
  });
  const id = responseIdOf(submitted.job.id);
  let rec: StoredResponse = {
    id,
    job_id: submitted.job.id,
    tenant_id: p.tenantId,
    api_key_id: p.keyId,
    background: body.background === true,
    store: body.store !== false,
    previous_response_id: previousId,
    params: mapped.params,
    input_items: [...prior, ...mapped.ownItems],
    final: null,
    created_at: submitted.job.created_at,
  };
  if (rec.store) {
    try {
      await insertResponse(r.db, rec);
    } catch (err) {
      // Without its record the response could never be read: do not leave its job running.
      await cancelJob(r, p, rec.job_id).catch(() => undefined);
      throw err;
    }
    // A replay (same Idempotency-Key) answers with the record the first create stored.
    if (submitted.replayed) rec = (await findResponse(r.db, p.tenantId, id)) ?? rec;
  }
  const view = await getJob(r, p, rec.job_id);
  return { rec, view, replayed: submitted.replayed, headers: submitted.headers ?? {} };
}

/** A response record of the caller (another tenant's, a deleted or unstored one: 404). */
export async function findOwned(r: GatewayResources, p: Principal, id: string): Promise<StoredResponse> {
  if (!RESPONSE_ID.test(id)) throw notFound(id);
  const rec = await findResponse(r.db, p.tenantId, id, { apiKeyId: p.publishable ? p.keyId : undefined });
  if (!rec) throw notFound(id);
  return rec;
}

/** The job's events so far (a snapshot), or for a job whose stream has expired its stored terminal event. */
async function eventsSoFar(r: GatewayResources, view: JobView): Promise<{ events: Array<{ id: string; event: JobEvent }>; cursor: string }> {
  const entries = await r.redis.xrange(r.keys.events(view.id), "-", "+");
  if (entries.length === 0 && view.completed_at && isTerminalStatus(view.status)) {
    const id = `${Date.parse(view.completed_at)}-0`;
    return { events: [{ id, event: terminalFromView(view) }], cursor: id };
  }
  const events = entries.flatMap(([id, fields]) => (fields[1] ? [{ id, event: JobEvent.parse(JSON.parse(fields[1])) }] : []));
  return { events, cursor: entries.at(-1)?.[0] ?? "0" };
}

/** The final view a terminal `error` event is rendered with. */
async function terminalView(r: GatewayResources, p: Principal, e: JobEvent, jobId: string): Promise<JobView | undefined> {
  return e.type === "error" ? getJob(r, p, jobId) : undefined;
}

/**
 * Render the response from the start of its job's stream: the events so far, and the renderer
 * to continue with. `final` is set when the job has ended (and is then stored, once).
 */
export async function replay(r: GatewayResources, p: Principal, rec: StoredResponse, view: JobView) {
  const renderer = new ResponseRenderer(rec);
  const events = renderer.created();
  const { events: jobEvents, cursor } = await eventsSoFar(r, view);
  for (const { event } of jobEvents) events.push(...renderer.push(event, await terminalView(r, p, event, view.id)));
  if (renderer.final) await keepFinal(r, rec, renderer.final);
  return { renderer, events, cursor };
}

async function keepFinal(r: GatewayResources, rec: StoredResponse, final: ResponseObject): Promise<void> {
  if (rec.store && !rec.final) await saveFinalResponse(r.db, rec.id, final);
}

/** The Response object now: the stored final one, one rendered from the ended job, or the running job's status. */
export async function currentResponse(r: GatewayResources, p: Principal, rec: StoredResponse): Promise<ResponseObject> {
  if (rec.final) return rec.final as ResponseObject;
  const view = await getJob(r, p, rec.job_id);
  if (!isTerminalStatus(view.status)) return responseShell(rec, responseStatusOf(view), view.served_model ?? rec.params.model);
  const { renderer } = await replay(r, p, rec, view);
  return renderer.final ?? responseShell(rec, responseStatusOf(view), view.served_model ?? rec.params.model);
}

/**
 * Wait for the job to end (non-background, non-streamed create), then its Response. Past the
 * client's deadline (or the server's limit on waiting) the 503/504 is thrown (`deadlineError`);
 * null when the client went away.
 */
export async function waitForResponse(
  r: GatewayResources,
  p: Principal,
  rec: StoredResponse,
  view: JobView,
  signal: AbortSignal,
  http: { req: IncomingMessage; deadline: ClientDeadline | null },
): Promise<ResponseObject | null> {
  for (;;) {
    const out = await followUntilEnd(r, view, http.deadline, signal);
    if (out === null) return null;
    if (out.kind === "ended") break;
    const late = await deadlineError(r, p, view, http.req, http.deadline, out);
    if (late) throw late;
  }
  const ended = await getJob(r, p, rec.job_id);
  const { renderer } = await replay(r, p, rec, ended);
  return renderer.final ?? responseShell(rec, responseStatusOf(ended), ended.served_model ?? rec.params.model);
}

/**
 * The streaming events after `startingAfter` (-1 for all), then live ones until the terminal
 * event. Validated before anything is sent: a cursor past the last event rendered so far cannot
 * have been handed out, so it is a 400 naming `starting_after`.
 */
export async function openEventStream(r: GatewayResources, p: Principal, rec: StoredResponse, view: JobView, startingAfter: number) {
  const { renderer, events, cursor } = await replay(r, p, rec, view);
  const last = renderer.count - 1;
  if (startingAfter > last)
    throw new ApiError("invalid_request", `starting_after: ${startingAfter} is past the last event of this response's stream (${last})`, "starting_after");
  async function* rest(signal: AbortSignal): AsyncGenerator<ResponsesEvent | "heartbeat"> {
    for (const e of events) if (e.sequence_number > startingAfter) yield e;
    if (renderer.final) return;
    const follow: AsyncGenerator<FollowItem> = followEvents(r, view, cursor, { heartbeatMs: r.config.sseHeartbeatMs, signal });
    for await (const item of follow) {
      if (item.kind === "heartbeat") {
        yield "heartbeat";
        continue;
      }
      for (const e of renderer.push(item.event, await terminalView(r, p, item.event, view.id))) if (e.sequence_number > startingAfter) yield e;
      if (renderer.final) {
        await keepFinal(r, rec, renderer.final);
        return;
      }
    }
  }
  return rest;
}

/**
 * Cancel a background response (the job's cancel): a queued or running one becomes `cancelled`;
 * cancelling a cancelled one answers it again (OpenAI: "cancelling twice is idempotent"); one
 * that ended otherwise is a 409.
 */
export async function cancelResponse(r: GatewayResources, p: Principal, id: string): Promise<ResponseObject> {
  const rec = await findOwned(r, p, id);
  if (!rec.background) throw new ApiError("invalid_request", "Only responses created with background=true can be cancelled.", "response_id");
  try {
    await cancelJob(r, p, rec.job_id);
  } catch (err) {
    if (!(err instanceof ApiError && err.code === "job_already_terminal")) throw err;
    const now = await currentResponse(r, p, rec);
    if (now.status !== "cancelled")
      throw new ApiError("job_already_terminal", `Cannot cancel a response that has already ended (status ${now.status}).`, "response_id");
    return now;
  }
  return currentResponse(r, p, rec);
}

/** Delete a response (a running one's job is cancelled first); later reads are 404. */
export async function deleteStoredResponse(r: GatewayResources, p: Principal, id: string) {
  const rec = await findOwned(r, p, id);
  const view = await getJob(r, p, rec.job_id).catch(() => null);
  if (view && !isTerminalStatus(view.status)) await cancelJob(r, p, rec.job_id).catch(() => undefined);
  if (!(await deleteResponse(r.db, p.tenantId, rec.id))) throw notFound(id);
  return { id: rec.id, object: "response" as const, deleted: true as const };
}

/** `GET /v1/responses/{id}/input_items`: a cursor page over the model's input items. */
export async function listInputItems(r: GatewayResources, p: Principal, id: string, q: { limit?: string; order?: "asc" | "desc"; after?: string }) {
  const rec = await findOwned(r, p, id);
  const limit = q.limit ? Number(q.limit) : 20;
  const ordered = q.order === "asc" ? rec.input_items : [...rec.input_items].reverse();
  let start = 0;
  if (q.after !== undefined) {
    const at = ordered.findIndex((item) => item.id === q.after);
    if (at < 0) throw new ApiError("invalid_request", `after: no input item ${q.after} in response ${id}`, "after");
    start = at + 1;
  }
  const data = ordered.slice(start, start + limit);
  return { object: "list" as const, data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: start + limit < ordered.length };
}
