/** The OpenAI-compatible routes: chat completions, Responses, models and embeddings. */
import { z } from "zod";
import { OpenAIEmbeddingRequest, OpenAIEmbeddingResponse, OpenAIModel } from "../embeddings";
import { OpenAIChatRequest } from "../openai-compat";
import { ResponsesCreateRequest, ResponsesInputItemsQuery, ResponsesRetrieveQuery } from "../responses";
import { json, type RouteContract } from "./route-contract";
import { ChatCompletion, ResponseDeleted, ResponseInputItems, ResponseObject } from "./tenant-api";
import { IDEMPOTENCY, SUBMIT_ERRORS } from "./tenant-route-common";

export const ModelList = z.object({ object: z.literal("list"), data: z.array(OpenAIModel) });
export type ModelList = z.infer<typeof ModelList>;

/** The deadline of a request that waits for its answer (non-stream chat completions and Responses). */
const DEADLINE = {
  "X-Request-Timeout":
    "seconds (over 0, at most 3600) this request waits for its answer without stream; past it: 503 (the job waits for an unavailable upstream) or 504 request_timeout, with Retry-After and error.job_id",
  "X-Stainless-Timeout": "the OpenAI SDK's timeout in seconds, read like X-Request-Timeout (the sooner of the two wins)",
};

const OPENAI = "OpenAI-compatible";

/** OpenAI's chat completions, Responses, models and embeddings APIs, through the gateway's admission and queue. */
export const OPENAI_ROUTES: readonly RouteContract[] = [
  {
    method: "post",
    path: "/v1/chat/completions",
    operationId: "createChatCompletion",
    summary: "OpenAI chat completion, through the same admission and queue as jobs",
    tag: OPENAI,
    auth: { scope: "jobs:write" },
    body: OpenAIChatRequest,
    headers: { ...IDEMPOTENCY, ...DEADLINE },
    responses: {
      200: {
        description: "`chat.completion`, or with `stream: true` `chat.completion.chunk` events ending with `data: [DONE]`",
        content: [
          { type: "application/json", schema: ChatCompletion },
          { type: "text/event-stream", description: "`data:` chat.completion.chunk JSON, then `data: [DONE]`" },
        ],
        headers: { "x-switchyard-job-id": "the job that answered" },
      },
    },
    errors: [...SUBMIT_ERRORS, 409, 502, 504],
  },
  {
    method: "post",
    path: "/v1/responses",
    operationId: "createResponse",
    summary: "OpenAI Responses API: create (background, streamed or waited for)",
    tag: OPENAI,
    auth: { scope: "jobs:write" },
    body: ResponsesCreateRequest,
    headers: { ...IDEMPOTENCY, ...DEADLINE },
    responses: {
      200: {
        description: "the Response, or with `stream: true` its events",
        content: [
          { type: "application/json", schema: ResponseObject },
          { type: "text/event-stream", description: "`event:` the type, `data:` the event" },
        ],
      },
    },
    errors: [...SUBMIT_ERRORS, 504],
  },
  {
    method: "get",
    path: "/v1/responses/:id",
    operationId: "getResponse",
    summary: "A Response (or, with stream=true, its event stream from starting_after)",
    tag: OPENAI,
    auth: { scope: "jobs:read" },
    params: { id: "the response's id (resp_…)" },
    query: ResponsesRetrieveQuery,
    responses: {
      200: {
        description: "the Response, or its events",
        content: [
          { type: "application/json", schema: ResponseObject },
          { type: "text/event-stream", description: "`event:` the type, `data:` the event" },
        ],
      },
    },
  },
  {
    method: "post",
    path: "/v1/responses/:id/cancel",
    operationId: "cancelResponse",
    summary: "Cancel a background Response",
    tag: OPENAI,
    auth: { scope: "jobs:write" },
    params: { id: "the response's id" },
    responses: { 200: json(ResponseObject, "the Response as it now is") },
  },
  {
    method: "delete",
    path: "/v1/responses/:id",
    operationId: "deleteResponse",
    summary: "Delete a stored Response",
    tag: OPENAI,
    auth: { scope: "jobs:write" },
    params: { id: "the response's id" },
    responses: { 200: json(ResponseDeleted, "deleted") },
  },
  {
    method: "get",
    path: "/v1/responses/:id/input_items",
    operationId: "listResponseInputItems",
    summary: "A Response's input items",
    tag: OPENAI,
    auth: { scope: "jobs:read" },
    params: { id: "the response's id" },
    query: ResponsesInputItemsQuery,
    responses: { 200: json(ResponseInputItems, "one page") },
  },
  {
    method: "get",
    path: "/v1/models",
    operationId: "listModels",
    summary: "Models the key's deployment may use",
    tag: OPENAI,
    auth: { scope: "jobs:read" },
    responses: { 200: json(ModelList, "the models") },
  },
  {
    method: "get",
    path: "/v1/models/:model",
    operationId: "getModel",
    summary: "One model",
    tag: OPENAI,
    auth: { scope: "jobs:read" },
    params: { model: "a catalog model id" },
    responses: { 200: json(OpenAIModel, "the model") },
  },
  {
    method: "post",
    path: "/v1/embeddings",
    operationId: "createEmbeddings",
    summary: "OpenAI embeddings, answered inline",
    tag: OPENAI,
    auth: { scope: "jobs:write" },
    body: OpenAIEmbeddingRequest,
    responses: { 200: json(OpenAIEmbeddingResponse, "vectors in input order", { "x-switchyard-usage-id": "the request's row in the usage ledger" }) },
    errors: [...SUBMIT_ERRORS, 502, 504],
  },
];
