import type { JobEvent, JobView, StoredResponse } from "@switchyard/contracts";
import { ResponseRenderer } from "./responses-render";

const rec = {
  id: "resp_abc",
  job_id: "job_abc",
  tenant_id: "ten",
  api_key_id: null,
  background: false,
  store: true,
  previous_response_id: null,
  params: {
    model: "m",
    instructions: null,
    max_output_tokens: null,
    parallel_tool_calls: true,
    prompt_cache_key: null,
    safety_identifier: null,
    service_tier: "auto",
    temperature: null,
    text: { format: { type: "text" } },
    tool_choice: "auto",
    tools: [],
    top_p: null,
    user: null,
    metadata: {},
  },
  input_items: [],
  final: null,
  created_at: "2026-12-07T09:00:00.000Z",
} as unknown as StoredResponse;

const view = {
  id: "job_abc",
  object: "job",
  status: "succeeded",
  model: "m",
  served_model: "m",
  created_at: rec.created_at,
  started_at: rec.created_at,
  completed_at: rec.created_at,
  output: { text: "hi there", citations: [], finish_reason: "stop" },
  usage: { input_tokens: 1, output_tokens: 2, cost_usd: 0, provenance: "reported" },
  routing: { decision: null, fallbacks: [] },
  error: null,
  metadata: null,
} as unknown as JobView;

const waiting = (waits: number): JobEvent => ({
  type: "status",
  data: { status: "waiting", reason: "breaker_open", retry_at: "2026-12-07T09:00:05.000Z", waits },
});
const run: JobEvent[] = [
  { type: "status", data: { status: "running", attempt: 1, waits: 2, served_model: "m" } },
  { type: "delta", data: { text: "hi " } },
  { type: "delta", data: { text: "there" } },
  { type: "done", data: { job: view } },
];
const render = (events: JobEvent[]) => {
  const r = new ResponseRenderer(rec);
  return [...r.created(), ...events.flatMap((e) => r.push(e))];
};

test("a waiting job renders no Responses event: the stream (and its sequence numbers) is the one without the waits", () => {
  const r = new ResponseRenderer(rec);
  r.created();
  expect(r.push(waiting(1))).toEqual([]);
  expect(r.count).toBe(1);
  expect(render([waiting(1), waiting(2), ...run])).toEqual(render(run));
  expect(render([waiting(1), ...run]).at(-1)).toMatchObject({ type: "response.completed", response: { status: "completed" } });
});
