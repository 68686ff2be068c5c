/**
 * How a job's view is kept in its hash: compact at creation (`encodeView`), and read back whether
 * compact or written whole by a worker (`decodeView`).
 */
import { JobView } from "@switchyard/contracts";

/** What a view holds until a worker first writes one; a stored view leaves out fields that still hold these. */
const VIEW_DEFAULTS = {
  object: "job",
  served_model: null,
  started_at: null,
  completed_at: null,
  output: null,
  usage: null,
  error: null,
  metadata: null,
} as const;

/**
 * A view as stored in the job hash when the job is created: without its id (the hash's key) and
 * status (the hash's `status` field), without the fields that still hold their first value, and
 * with the model as `m` and the creation time as `t` (epoch ms). A waiting job's view is then
 * about 50 bytes, which keeps its hash under Redis' listpack limit (64-byte values) — a third of
 * the memory of a hash table. Views the worker writes later are whole JobViews; both decode.
 */
export function encodeView(view: JobView): string {
  const out: Record<string, unknown> = { m: view.model, t: Date.parse(view.created_at) };
  for (const [k, v] of Object.entries(view)) {
    if (k === "id" || k === "status" || k === "model" || k === "created_at") continue;
    if (k in VIEW_DEFAULTS && v === VIEW_DEFAULTS[k as keyof typeof VIEW_DEFAULTS]) continue;
    if (k === "routing" && view.routing.decision === null && view.routing.fallbacks.length === 0) continue;
    out[k] = v;
  }
  return JSON.stringify(out);
}

/** A stored view (as `encodeView` wrote it, or a whole JobView as the worker writes it) of job `id` whose hash says `status`. */
export function decodeView(stored: string, id: string, status: string): JobView {
  const { m, t, ...rest } = JSON.parse(stored) as Record<string, unknown> & { m?: string; t?: number };
  const base: Record<string, unknown> = { ...VIEW_DEFAULTS, routing: { decision: null, fallbacks: [] }, id, status };
  if (m !== undefined) base.model = m;
  if (t !== undefined) base.created_at = new Date(t).toISOString();
  return JobView.parse({ ...base, ...rest });
}
