import {
  ApiError,
  DeadLettersQuery,
  ReplayUsageDeadLetterRequest,
  stripNul,
  UsageEvent,
  type UsageDeadLetterList,
  type UsageDeadLetterReplay,
} from "@switchyard/contracts";
import { listUsageDeadLetters, replayUsageDeadLetter } from "@switchyard/db";
import { Router } from "express";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { parseBody } from "../services/validation";

/**
 * `/admin/v1/usage-dead-letters`: usage events the aggregator could not store (see
 * `usage_dead_letters`), newest first, and their replay. Mounted after the admin scope check.
 *
 * Replay re-reads the stored event (as received), optionally with U+0000 removed from every string
 * (`{"sanitize": true}`), checks it is a usage event, enqueues it into `ai-usage` and marks the
 * dead letter replayed, with an audit row, in one transaction. The ledger keeps one row per
 * (job, attempt), so a replay can never bill an event twice; if the replayed event is refused
 * again, the aggregator reopens the same dead letter.
 */
export function adminDeadLettersRouter(r: GatewayResources): Router {
  const router = Router();

  router.get("/admin/v1/usage-dead-letters", async (req, res) => {
    const q = parseBody(DeadLettersQuery, req.query);
    const page = await listUsageDeadLetters(r.db, { limit: q.limit, cursor: q.cursor, replayed: q.replayed === undefined ? undefined : q.replayed === "true" });
    const body: UsageDeadLetterList = { object: "list", data: page.data, has_more: page.nextCursor !== null, next_cursor: page.nextCursor };
    res.json(body);
  });

  router.post("/admin/v1/usage-dead-letters/:id/replay", async (req, res) => {
    const id = String(req.params.id);
    const body = parseBody(ReplayUsageDeadLetterRequest, req.body ?? {});
    if (!/^[1-9][0-9]{0,18}$/.test(id)) throw new ApiError("dead_letter_not_found", `no usage dead letter ${id}`, "id");
    const out = await replayUsageDeadLetter(r.db, id, { keyId: principalOf(req).keyId }, async (dl) => {
      const parsed = UsageEvent.safeParse(body.sanitize ? stripNul(dl.event) : dl.event);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
        throw new ApiError("dead_letter_unreplayable", `the stored event is not a usage event (${problems}); nothing was replayed`);
      }
      // A job id of its own: the original queue job (kept a while after completing) must not absorb the replay.
      const job = await r.queues.enqueue("ai-usage", parsed.data, { jobId: `u-dl-${dl.id}-${dl.failures}` });
      return { queue_job_id: job.id ?? "", sanitized: body.sanitize };
    });
    switch (out.status) {
      case "not_found":
        throw new ApiError("dead_letter_not_found", `no usage dead letter ${id}`, "id");
      case "already_replayed":
        throw new ApiError("dead_letter_replayed", `usage dead letter ${id} was already replayed at ${out.deadLetter.replayed_at}`, "id");
      case "replayed": {
        const view: UsageDeadLetterReplay = {
          object: "usage_dead_letter_replay",
          dead_letter: out.deadLetter,
          queue_job_id: out.sent.queue_job_id,
          sanitized: out.sent.sanitized,
        };
        res.json(view);
      }
    }
  });

  return router;
}
