import type { QueueClean, QueueCounts, QueueList, QueueRetry, QueueView } from "@switchyard/contracts";
import { adminApi, API_FLAGS, API_FLAGS_HELP, seg } from "../admin-api";
import { withSubcommands, type Command } from "../command";
import { intFlag, parseCommandLine } from "../flags";
import { output, table } from "../format";

/** BullMQ's states in the order ops read them. */
const STATE_ORDER: ReadonlyArray<keyof QueueCounts> = ["waiting", "prioritized", "waiting_children", "delayed", "active", "completed", "failed"];

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const nonZero = (o: Record<string, number> | undefined) =>
  Object.entries(o ?? {})
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");

/** The counts table: one row per queue, one column per state (and whether it is paused). */
export function countsTable(queues: readonly QueueView[]): string {
  if (!queues.length) return "no queues reported";
  return table(
    ["QUEUE", ...STATE_ORDER.map((s) => s.toUpperCase()), "PAUSED"],
    queues.map((q) => [q.queue, ...STATE_ORDER.map((s) => q.counts[s]), q.paused ? "yes" : "no"]),
  );
}

const counts: Command = {
  summary: "Show job counts per queue and state",
  help: [
    "Usage: switchyard queues counts [--json]",
    "",
    "Jobs per queue and state, and whether each queue is paused (GET /admin/v1/queues).",
    "",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const { values: f } = parseCommandLine(args, API_FLAGS, []);
    const { body } = await adminApi(ctx, f).call<QueueList>("GET", "/queues");
    output(ctx, f.json, body, () => countsTable(body.data));
  },
};

const clean: Command = {
  summary: "Remove queue jobs whose Switchyard job already ended",
  help: [
    "Usage: switchyard queues clean <queue> [--older-than-ms N] [--limit N] [--json]",
    "",
    "Removes jobs that have waited (or sat active) longer than --older-than-ms although the",
    "Switchyard job they work for has already ended (POST /admin/v1/queues/{queue}/clean-stuck).",
    "Jobs still live, or locked by a running worker, are left alone and counted as skipped.",
    "",
    "  --older-than-ms   minimum age (default: the gateway's, 10 minutes)",
    "  --limit           jobs examined per state (default: the gateway's, 1000)",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const {
      values: f,
      positionals: [queue],
    } = parseCommandLine(args, { ...API_FLAGS, "older-than-ms": { type: "string" }, limit: { type: "string" } }, ["queue"]);
    const olderThan = intFlag(f["older-than-ms"], "--older-than-ms", 0);
    const limit = intFlag(f.limit, "--limit", 1);
    const body = { ...(olderThan === undefined ? {} : { older_than_ms: olderThan }), ...(limit === undefined ? {} : { limit }) };
    const res = await adminApi(ctx, f).call<QueueClean>("POST", `/queues/${seg(queue)}/clean-stuck`, { body });
    const c = res.body;
    output(ctx, f.json, c, () => {
      const skipped = nonZero(c.skipped);
      return `${c.queue}: removed ${c.removed} of ${plural(c.examined, "job")} examined (older than ${c.older_than_ms} ms)${skipped ? `; skipped: ${skipped}` : ""}`;
    });
  },
};

const retryFailed: Command = {
  summary: "Retry a queue's failed jobs",
  help: [
    "Usage: switchyard queues retry-failed <queue> [--json]",
    "",
    "Moves the queue's failed jobs back to waiting (POST /admin/v1/queues/{queue}/retry-failed).",
    "",
    ...API_FLAGS_HELP,
  ].join("\n"),
  async run(args, ctx) {
    const {
      values: f,
      positionals: [queue],
    } = parseCommandLine(args, API_FLAGS, ["queue"]);
    const { body } = await adminApi(ctx, f).call<QueueRetry>("POST", `/queues/${seg(queue)}/retry-failed`);
    output(
      ctx,
      f.json,
      body,
      () =>
        `${body.queue}: retried ${plural(body.retried, "failed job")}${body.skipped_terminal ? ` (${body.skipped_terminal} left failed: their job has ended)` : ""}${body.counts ? `; now ${nonZero(body.counts) || "empty"}` : ""}`,
    );
  },
};

/** `switchyard queues counts|clean|retry-failed`: BullMQ queues through the admin API. */
export const queues = withSubcommands("queues", "Job queues (admin API)", { counts, clean, "retry-failed": retryFailed });
