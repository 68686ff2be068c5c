import { z } from "zod";

/** `{"object":"list","data":[…]}`: a whole list in one answer. */
export function listOf<T extends z.ZodType>(item: T) {
  return z.object({ object: z.literal("list"), data: z.array(item) });
}

/** One page of a list and the cursor of the next (`next_cursor` is null on the last page). */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ object: z.literal("list"), data: z.array(item), has_more: z.boolean(), next_cursor: z.string().nullable() });
}

/** A query string `limit` (a whole number in `1..max`, `fallback` when absent). */
export const limitParam = (max: number, fallback = 50) => z.coerce.number().int().min(1).max(max).default(fallback);

/** A bigserial page cursor (`next_cursor` of an earlier page). */
export const SerialCursor = z.string().regex(/^[1-9][0-9]{0,18}$/, "must be next_cursor from an earlier page");

/** An ISO 8601 date-time with a zone (`2026-12-07T05:00:00Z`, `…+01:00`), read as a Date. */
export const Instant = z.iso
  .datetime({ offset: true, message: "must be an ISO 8601 date-time with a zone, e.g. 2026-12-07T05:00:00Z" })
  .transform((s) => new Date(s));

/** A query that takes no parameters at all (an unknown one is a 400 naming it). */
export const NoQuery = z.strictObject({});

/** A POST that takes no fields (`{}`, or no body). */
export const EmptyBody = z.strictObject({});
