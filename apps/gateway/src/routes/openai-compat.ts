import { ApiError, OpenAIChatRequest, unsupportedParameter, type JobView } from "@switchyard/contracts";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Router } from "express";
import type { Authenticator } from "../middleware/authenticate";
import { requireScopes } from "../middleware/authenticate";
import type { Principal } from "@switchyard/contracts";
import { principalOf } from "../middleware/request-context";
import { header, sendJson } from "../services/http-json";
import type { GatewayResources } from "../resources";
import { clientDeadline, deadlineError, failedWhileWaiting, followUntilEnd, type ClientDeadline } from "../services/client-deadline";
import { requireStreaming } from "../services/deployment-cache";
import { followEvents } from "../services/follow-events";
import { submitJobTraced } from "../services/job-service";
import { chatCompletion, chunk, completionId, createdSeconds, failureType, jobFailure, toJobRequest, toolCallDelta } from "../services/openai-format";
import { parseBody } from "../services/validation";

/**
 * OpenAI-compatible surface: `POST /v1/chat/completions` goes through the same admission and
 * queue as `/v1/jobs` and answers in OpenAI's exact formats (the models endpoints are in `models.ts`).
 */
/**
 * `POST /v1/chat/completions` once the caller is known (express's route and the lean path both
 * end here): the job is admitted like any other, then followed to its answer, as one JSON body or
 * as `chat.completion.chunk` events. A non-stream request honours the client's deadline
 * (`X-Request-Timeout`, `X-Stainless-Timeout`; see client-deadline.ts).
 */
export async function postChatCompletion(r: GatewayResources, p: Principal, raw: unknown, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = parseBody(OpenAIChatRequest, raw);
  const unsupported = unsupportedParameter(body);
  if (unsupported) throw new ApiError("unsupported_parameter", `${unsupported.param}: ${unsupported.message}`, unsupported.param);
  if (body.stream) await requireStreaming(r.deployments, p.deploymentId, "stream");
  const deadline = body.stream ? null : clientDeadline(req);
  const submitted = await submitJobTraced(r, p, toJobRequest(body), header(req, "idempotency-key"), "/v1/chat/completions");
  const view = submitted.view;
  res.setHeader("x-switchyard-job-id", view.id);
  if (submitted.replayed) res.setHeader("Idempotent-Replayed", "true");
  const ac = new AbortController();
  res.once("close", () => ac.abort());
  if (body.stream) await streamCompletion(r, view, body.stream_options?.include_usage === true, res, ac.signal);
  else await waitForCompletion(r, p, view, req, res, deadline, ac.signal);
}

export function openaiCompatRouter(r: GatewayResources, auth: Authenticator): Router {
  const router = Router();

  router.post("/v1/chat/completions", requireScopes(auth, "jobs:write"), (req, res) => postChatCompletion(r, principalOf(req), req.body, req, res));

  return router;
}

/**
 * The job's answer as one `chat.completion`, or its failure as an error; past the deadline a
 * 503/504 with `Retry-After` (see `deadlineError`); nothing when the client went away.
 */
async function waitForCompletion(
  r: GatewayResources,
  p: Principal,
  view: JobView,
  req: IncomingMessage,
  res: ServerResponse,
  deadline: ClientDeadline | null,
  signal: AbortSignal,
): Promise<void> {
  for (;;) {
    const out = await followUntilEnd(r, view, deadline, signal);
    if (out === null) return;
    // The job ended just as its deadline passed: follow it again, to its terminal event.
    if (out.kind === "deadline") {
      const late = await deadlineError(r, p, view, req, deadline, out);
      if (late) throw late;
      continue;
    }
    const e = out.event;
    if (e.type === "done") {
      sendJson(res, 200, chatCompletion(e.data.job));
      return;
    }
    throw failedWhileWaiting(e, out.waiting) ?? jobFailure(e.data.code, e.data.message, e.data.reason === "canceled" ? "canceled" : "failed");
  }
}

async function streamCompletion(r: GatewayResources, view: JobView, includeUsage: boolean, res: ServerResponse, signal: AbortSignal): Promise<void> {
  res.writeHead(200, {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache, no-transform",
    Connection: "keep-alive",
    "X-Accel-Buffering": "no",
  });
  res.flushHeaders();
  r.sse.opened();
  const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
  const base = { id: completionId(view.id), created: createdSeconds(view.created_at), model: view.served_model ?? view.model };
  let sentRole = false;
  let sentText = false;
  let usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null = null;
  try {
    for await (const item of followEvents(r, view, "0", { heartbeatMs: r.config.sseHeartbeatMs, signal })) {
      if (item.kind === "heartbeat") {
        res.write(": keep-alive\n\n");
        continue;
      }
      const e = item.event;
      if (e.type === "status" && e.data.served_model) base.model = e.data.served_model;
      // OpenAI's chunks have no place for it: a waiting job says why and until when in an SSE comment.
      if (e.type === "status" && e.data.status === "waiting")
        res.write(`: waiting ${e.data.reason ?? ""}${e.data.retry_at ? ` until ${e.data.retry_at}` : ""}\n\n`);
      if (!sentRole && (e.type === "delta" || e.type === "tool_call" || e.type === "done")) {
        // As OpenAI does: an answer that opens with a tool call has `content: null`.
        send(chunk(base, { role: "assistant", content: e.type === "tool_call" ? null : "" }));
        sentRole = true;
      }
      switch (e.type) {
        case "delta":
          send(chunk(base, { content: e.data.text }, null, e.data.logprobs));
          sentText = true;
          break;
        case "tool_call":
          send(chunk(base, toolCallDelta(e.data)));
          sentText = true;
          break;
        case "restart":
          // OpenAI's format cannot take text back: once some went out, say so instead of mixing two answers.
          if (sentText) {
            send({
              error: {
                type: "api_error",
                code: "upstream_restarted",
                message: "the upstream answer was restarted after output began; retry the request",
                param: null,
              },
            });
            return;
          }
          break;
        case "usage":
          usage = { prompt_tokens: e.data.input_tokens, completion_tokens: e.data.output_tokens, total_tokens: e.data.input_tokens + e.data.output_tokens };
          break;
        case "done": {
          base.model = e.data.job.served_model ?? base.model;
          send(chunk(base, {}, e.data.job.output?.finish_reason ?? "stop"));
          if (includeUsage) send({ ...chunk(base, {}), choices: [], usage: usage ?? chatCompletion(e.data.job).usage });
          res.write("data: [DONE]\n\n");
          return;
        }
        case "error":
          send({ error: { type: failureType(e.data.code, e.data.reason === "canceled"), code: e.data.code, message: e.data.message, param: null } });
          return;
        default:
          break;
      }
    }
  } finally {
    r.sse.closed();
    res.end();
  }
}
