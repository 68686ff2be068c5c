import { z } from "zod";
import { Instant, pageOf } from "./http/common";
import { JobStatus, JobView } from "./jobs";

/** Most jobs one page of `GET /v1/jobs` holds, and how many when `limit` is not given. */
export const JOB_LIST_MAX_LIMIT = 100;
export const JOB_LIST_DEFAULT_LIMIT = 20;

/**
 * `GET /v1/jobs?status=&model=&since=&until=&cursor=&limit=`: the key's tenant's jobs, newest
 * first. `model` matches the requested or the served model; `since` is inclusive, `until`
 * exclusive; `cursor` is `next_cursor` of an earlier page (opaque). An unknown parameter is a 400
 * naming it.
 */
export const ListJobsQuery = z
  .strictObject({
    status: JobStatus.optional(),
    model: z.string().min(1).max(128).optional(),
    since: Instant.optional(),
    until: Instant.optional(),
    cursor: z.string().min(1).max(256).optional(),
    limit: z.coerce.number().int().min(1).max(JOB_LIST_MAX_LIMIT).default(JOB_LIST_DEFAULT_LIMIT),
  })
  .superRefine((q, ctx) => {
    if (q.since && q.until && q.since.getTime() >= q.until.getTime()) ctx.addIssue({ code: "custom", path: ["until"], message: "must be later than since" });
  });
export type ListJobsQuery = z.infer<typeof ListJobsQuery>;

/** One page of jobs: `next_cursor` (null on the last page) asks for the next one. */
export const JobList = pageOf(JobView);
export type JobList = z.infer<typeof JobList>;
