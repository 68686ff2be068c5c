import { ApiError, ResponsesCreateRequest, ResponsesInputItemsQuery, ResponsesRetrieveQuery } from "@switchyard/contracts";
import { AttrNames, SpanKind, startSpan } from "@switchyard/telemetry";
import { Router, type Response } from "express";
import type { Authenticator } from "../middleware/authenticate";
import { requireScopes } from "../middleware/authenticate";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { getJob } from "../services/job-service";
import { responseShell, type ResponsesEvent } from "../services/responses-render";
import {
  cancelResponse,
  createResponse,
  currentResponse,
  deleteStoredResponse,
  findOwned,
  listInputItems,
  openEventStream,
  waitForResponse,
} from "../services/responses-service";
import { clientDeadline } from "../services/client-deadline";
import { requireStreaming } from "../services/deployment-cache";
import { parseBody } from "../services/validation";

/**
 * OpenAI's Responses API over Switchyard jobs: `POST /v1/responses` (background, streamed or
 * waited for), `GET /v1/responses/{id}` (poll, or `?stream=true&starting_after=N` to resume the
 * event stream), cancel, delete and `input_items`. A dialect: the job, its admission and its
 * event stream are the same as `/v1/jobs`'.
 */
export function responsesRouter(r: GatewayResources, auth: Authenticator): Router {
  const router = Router();

  router.post("/v1/responses", requireScopes(auth, "jobs:write"), async (req, res) => {
    const body = parseBody(ResponsesCreateRequest, req.body);
    const p = principalOf(req);
    if (body.stream) await requireStreaming(r.deployments, p.deploymentId, "stream");
    // A create that waits for its answer honours the client's deadline (read before anything is admitted).
    const deadline = body.stream || body.background ? null : clientDeadline(req);
    const created = await startSpan(
      "submit job",
      { [AttrNames.tenantId]: p.tenantId, [AttrNames.deploymentId]: p.deploymentId, "http.request.method": "POST", "http.route": "/v1/responses" },
      async (span) => {
        const c = await createResponse(r, p, body, req.get("idempotency-key"));
        span.setAttributes({ [AttrNames.jobId]: c.rec.job_id, "switchyard.idempotent_replay": c.replayed });
        return c;
      },
      SpanKind.SERVER,
    );
    res.setHeader("x-switchyard-job-id", created.rec.job_id);
    for (const [k, v] of Object.entries(created.headers)) res.setHeader(k, v);
    if (created.replayed) res.setHeader("Idempotent-Replayed", "true");
    const ac = new AbortController();
    res.once("close", () => ac.abort());
    if (body.stream) {
      await sendEvents(r, res, await openEventStream(r, p, created.rec, created.view, -1), ac.signal);
    } else if (body.background) {
      // The response as created (its job was just queued; a fast worker may already run it); a replay answers it as it is now.
      res.json(created.replayed ? await currentResponse(r, p, created.rec) : responseShell(created.rec, "queued", created.rec.params.model));
    } else {
      const answer = await waitForResponse(r, p, created.rec, created.view, ac.signal, { req, deadline });
      if (answer) res.json(answer);
    }
  });

  router.get("/v1/responses/:id", requireScopes(auth, "jobs:read"), async (req, res) => {
    const q = parseBody(ResponsesRetrieveQuery, { ...req.query });
    const p = principalOf(req);
    const rec = await findOwned(r, p, String(req.params.id));
    if (q.stream !== "true") {
      if (q.starting_after !== undefined) throw new ApiError("invalid_request", "starting_after: only with stream=true", "starting_after");
      res.json(await currentResponse(r, p, rec));
      return;
    }
    await requireStreaming(r.deployments, p.deploymentId, "stream");
    const view = await getJob(r, p, rec.job_id);
    const events = await openEventStream(r, p, rec, view, q.starting_after === undefined ? -1 : Number(q.starting_after));
    const ac = new AbortController();
    res.once("close", () => ac.abort());
    await sendEvents(r, res, events, ac.signal);
  });

  router.post("/v1/responses/:id/cancel", requireScopes(auth, "jobs:write"), async (req, res) => {
    res.json(await cancelResponse(r, principalOf(req), String(req.params.id)));
  });

  router.delete("/v1/responses/:id", requireScopes(auth, "jobs:write"), async (req, res) => {
    res.json(await deleteStoredResponse(r, principalOf(req), String(req.params.id)));
  });

  router.get("/v1/responses/:id/input_items", requireScopes(auth, "jobs:read"), async (req, res) => {
    const q = parseBody(ResponsesInputItemsQuery, { ...req.query });
    res.json(await listInputItems(r, principalOf(req), String(req.params.id), q));
  });

  return router;
}

/** Server-sent events as OpenAI sends them (`event:` = type, `data:` = the event), with keep-alive comments. */
async function sendEvents(
  r: GatewayResources,
  res: Response,
  events: (signal: AbortSignal) => AsyncGenerator<ResponsesEvent | "heartbeat">,
  signal: AbortSignal,
): Promise<void> {
  res.status(200).set({
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache, no-transform",
    Connection: "keep-alive",
    "X-Accel-Buffering": "no",
  });
  res.flushHeaders();
  r.sse.opened();
  try {
    for await (const e of events(signal)) {
      res.write(e === "heartbeat" ? ": keep-alive\n\n" : `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
    }
  } catch (err) {
    // No made-up terminal event: the client resumes with starting_after and loses nothing.
    r.logger.warn({ err: (err as Error).message }, "responses stream ended with an error");
  } finally {
    r.sse.closed();
    res.end();
  }
}
