/** The Jobs API: submit, list, read, cancel and follow jobs, their feedback, and job analytics. */
import { z } from "zod";
import { JobList, ListJobsQuery } from "../job-list";
import { CreateJobRequest, CreateJobResponse, JobView } from "../jobs";
import { json, REPLAYED, type RouteContract, type RouteResponse } from "./route-contract";
import { AnalyticsQuery, AnalyticsReport, FeedbackRequest, JobFeedbackView } from "./tenant-api";
import { IDEMPOTENCY, SUBMIT_ERRORS, USAGE } from "./tenant-route-common";

const sse = (description: string): RouteResponse => ({ description, content: [{ type: "text/event-stream", description }] });
const SSE_HEADERS = { "X-Accel-Buffering": "no: proxies must not buffer the stream" };

const JOBS = "Jobs";

/** `/v1/jobs` and below, and `/v1/analytics` (job outcomes). */
export const JOB_ROUTES: readonly RouteContract[] = [
  {
    method: "post",
    path: "/v1/jobs",
    operationId: "createJob",
    summary: "Submit a job",
    tag: JOBS,
    auth: { scope: "jobs:write" },
    body: CreateJobRequest,
    headers: IDEMPOTENCY,
    responses: {
      202: json(CreateJobResponse, "queued", { Location: "the job's URL" }),
      200: json(CreateJobResponse, "a replay (same Idempotency-Key, same body)", REPLAYED),
    },
    errors: SUBMIT_ERRORS,
  },
  {
    method: "get",
    path: "/v1/jobs",
    operationId: "listJobs",
    summary: "The tenant's jobs, newest first",
    tag: JOBS,
    auth: { scope: "jobs:read" },
    query: ListJobsQuery,
    responses: { 200: json(JobList, "one page") },
  },
  {
    method: "get",
    path: "/v1/jobs/:id",
    operationId: "getJob",
    summary: "A job: status, output, usage, routing",
    tag: JOBS,
    auth: { scope: "jobs:read" },
    params: { id: "the job's id (job_…)" },
    responses: { 200: json(JobView, "the job") },
  },
  {
    method: "post",
    path: "/v1/jobs/:id/cancel",
    operationId: "cancelJob",
    summary: "Cancel a job (aborts the upstream call)",
    tag: JOBS,
    auth: { scope: "jobs:write" },
    params: { id: "the job's id" },
    responses: { 200: json(JobView, "canceled") },
    errors: [409],
  },
  {
    method: "get",
    path: "/v1/jobs/:id/events",
    operationId: "jobEvents",
    summary: "A job's events as server-sent events",
    description:
      "Events `status`, `delta`, `tool_call`, `citations`, `restart`, `usage`, then one terminal `done` or `error`; each with an `id:`. Resume with `Last-Event-ID` or `?after=`. Heartbeat comments keep the connection open.",
    tag: JOBS,
    auth: { scope: "jobs:read" },
    params: { id: "the job's id" },
    query: z.object({ after: z.string().optional().describe("resume after this event id (Last-Event-ID wins)") }),
    headers: { "Last-Event-ID": "resume after this event id" },
    responses: { 200: { ...sse("`event:` is the event type, `data:` its JSON"), headers: SSE_HEADERS } },
  },
  {
    method: "post",
    path: "/v1/jobs/:id/feedback",
    operationId: "giveFeedback",
    summary: "Rate a finished job (feedbackEnabled)",
    tag: JOBS,
    auth: { scope: "jobs:write" },
    params: { id: "the job's id" },
    body: FeedbackRequest,
    responses: { 200: json(JobFeedbackView, "stored (a second rating replaces the first)") },
    errors: [409],
  },
  {
    method: "get",
    path: "/v1/jobs/:id/feedback",
    operationId: "getFeedback",
    summary: "A job's feedback",
    tag: JOBS,
    auth: { scope: "jobs:read" },
    params: { id: "the job's id" },
    responses: { 200: json(JobFeedbackView, "the feedback") },
  },
  {
    method: "get",
    path: "/v1/analytics",
    operationId: "analytics",
    summary: "Job outcomes per model, deployment or day (analyticsEnabled)",
    tag: USAGE,
    auth: { scope: "usage:read" },
    query: AnalyticsQuery,
    responses: { 200: json(AnalyticsReport, "one row per group with usage") },
  },
];
