import type { JobEvent, JobView, ResponseItem, ResponseStatus, StoredResponse } from "@switchyard/contracts";

/** One Responses streaming event (`type`, its fields, `sequence_number`). */
export type ResponsesEvent = { type: string; sequence_number: number } & Record<string, unknown>;
/** A Response object (`object: "response"`), as OpenAI's reference lists its fields. */
export type ResponseObject = Record<string, unknown> & { id: string; status: ResponseStatus; output: unknown[] };

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** The job's status as a Response status (a finished job's exact status comes from {@link finalResponse}). */
export function responseStatusOf(view: Pick<JobView, "status" | "output">): ResponseStatus {
  switch (view.status) {
    case "queued":
      return "queued";
    case "retrieving":
    case "running":
      return "in_progress";
    case "succeeded":
      return view.output?.finish_reason === "length" || view.output?.finish_reason === "content_filter" ? "incomplete" : "completed";
    case "failed":
      return "failed";
    case "canceled":
      return "cancelled";
    case "incomplete":
      return "incomplete";
  }
}

/** The Response object's fields before any output: what the request set, echoed. */
export function responseShell(rec: StoredResponse, status: ResponseStatus, model: string): ResponseObject {
  const p = rec.params;
  return {
    id: rec.id,
    object: "response",
    created_at: seconds(rec.created_at),
    status,
    background: rec.background,
    completed_at: null,
    error: null,
    incomplete_details: null,
    instructions: p.instructions,
    max_output_tokens: p.max_output_tokens,
    max_tool_calls: null,
    model,
    output: [],
    parallel_tool_calls: p.parallel_tool_calls,
    previous_response_id: rec.previous_response_id,
    prompt_cache_key: p.prompt_cache_key,
    reasoning: { effort: null, summary: null },
    safety_identifier: p.safety_identifier,
    service_tier: p.service_tier,
    store: rec.store,
    temperature: p.temperature ?? 1,
    text: p.text,
    tool_choice: p.tool_choice,
    tools: p.tools.map((t) => ({
      type: "function",
      name: t.name,
      description: t.description ?? null,
      parameters: t.parameters ?? null,
      strict: t.strict ?? null,
    })),
    top_logprobs: 0,
    top_p: p.top_p ?? 1,
    truncation: "disabled",
    usage: null,
    user: p.user,
    metadata: p.metadata,
  };
}

type ItemState = "completed" | "incomplete";
interface OpenMessage {
  id: string;
  index: number;
  text: string;
}
interface OpenCall {
  id: string;
  index: number;
  callId: string;
  name: string;
  args: string;
}

/**
 * Renders a job's event stream as Responses streaming events. A pure fold: the same job events
 * in the same order always give the same events with the same `sequence_number`s, so a client
 * resumes after any drop by replaying the stream and skipping what it saw (`starting_after`).
 *
 * - `response.created` (0) opens every stream; `response.in_progress` follows once the job runs.
 * - Text becomes one assistant message item; each `tool_call` index one `function_call` item.
 * - A `restart` (the worker drops what it streamed: a retry, a fallback) closes the items it
 *   took back with status `incomplete`; the retried answer's items follow at the next
 *   `output_index`, with new ids (`…_r<n>`). The final Response holds only the answer the job
 *   ended with. Restarts before any output never reach the stream (the worker writes none).
 * - The terminal job event becomes `response.completed`, `response.incomplete` or
 *   `response.failed` (a cancelled job too, its Response saying `cancelled`).
 */
export class ResponseRenderer {
  private seq = 0;
  private inProgress = false;
  private restarts = 0;
  private nextIndex = 0;
  private msg: OpenMessage | null = null;
  private calls = new Map<number, OpenCall>();
  private model: string;
  /** The final Response object, once the terminal job event was rendered. */
  final: ResponseObject | null = null;

  constructor(private readonly rec: StoredResponse) {
    this.model = rec.params.model;
  }

  /** Sequence number the next event will get (events so far). */
  get count(): number {
    return this.seq;
  }

  private suffix(): string {
    return this.rec.id.slice("resp_".length) + (this.restarts ? `_r${this.restarts}` : "");
  }

  private ev(type: string, fields: Record<string, unknown>): ResponsesEvent {
    return { type, ...fields, sequence_number: this.seq++ };
  }

  /** `response.created`: the stream's first event. */
  created(): ResponsesEvent[] {
    return [this.ev("response.created", { response: responseShell(this.rec, this.rec.background ? "queued" : "in_progress", this.model) })];
  }

  private started(out: ResponsesEvent[]): void {
    if (this.inProgress) return;
    this.inProgress = true;
    out.push(this.ev("response.in_progress", { response: responseShell(this.rec, "in_progress", this.model) }));
  }

  private openMessage(out: ResponsesEvent[]): OpenMessage {
    if (this.msg) return this.msg;
    const m: OpenMessage = { id: `msg_${this.suffix()}`, index: this.nextIndex++, text: "" };
    this.msg = m;
    out.push(
      this.ev("response.output_item.added", {
        output_index: m.index,
        item: { id: m.id, type: "message", status: "in_progress", content: [], role: "assistant" },
      }),
    );
    out.push(
      this.ev("response.content_part.added", {
        item_id: m.id,
        output_index: m.index,
        content_index: 0,
        part: { type: "output_text", annotations: [], text: "" },
      }),
    );
    return m;
  }

  private textDelta(out: ResponsesEvent[], text: string): void {
    if (!text) return;
    const m = this.openMessage(out);
    m.text += text;
    out.push(this.ev("response.output_text.delta", { item_id: m.id, output_index: m.index, content_index: 0, delta: text, logprobs: [] }));
  }

  private closeMessage(out: ResponsesEvent[], state: ItemState): void {
    const m = this.msg;
    if (!m) return;
    this.msg = null;
    const part = { type: "output_text", annotations: [], text: m.text };
    out.push(this.ev("response.output_text.done", { item_id: m.id, output_index: m.index, content_index: 0, text: m.text, logprobs: [] }));
    out.push(this.ev("response.content_part.done", { item_id: m.id, output_index: m.index, content_index: 0, part }));
    out.push(
      this.ev("response.output_item.done", { output_index: m.index, item: { id: m.id, type: "message", status: state, content: [part], role: "assistant" } }),
    );
  }

  private callPiece(out: ResponsesEvent[], index: number, piece: { id?: string; name?: string; arguments: string }): void {
    let c = this.calls.get(index);
    if (!c) {
      // Items follow one another: text streamed before the calls is a finished message.
      this.closeMessage(out, "completed");
      c = { id: `fc_${this.suffix()}_${index}`, index: this.nextIndex++, callId: piece.id ?? "", name: piece.name ?? "", args: "" };
      this.calls.set(index, c);
      out.push(
        this.ev("response.output_item.added", {
          output_index: c.index,
          item: { id: c.id, type: "function_call", status: "in_progress", arguments: "", call_id: c.callId, name: c.name },
        }),
      );
    }
    if (!piece.arguments) return;
    c.args += piece.arguments;
    out.push(this.ev("response.function_call_arguments.delta", { item_id: c.id, output_index: c.index, delta: piece.arguments }));
  }

  private closeCalls(out: ResponsesEvent[], state: ItemState): void {
    for (const c of [...this.calls.values()].sort((a, b) => a.index - b.index)) {
      out.push(this.ev("response.function_call_arguments.done", { item_id: c.id, output_index: c.index, name: c.name, arguments: c.args }));
      out.push(
        this.ev("response.output_item.done", {
          output_index: c.index,
          item: { id: c.id, type: "function_call", status: state, arguments: c.args, call_id: c.callId, name: c.name },
        }),
      );
    }
  }

  /**
   * Render one job event. A terminal `error` event needs the job's final view (`terminalView`):
   * the Response it ends with reports the job's status, partial output and usage.
   */
  push(e: JobEvent, terminalView?: JobView): ResponsesEvent[] {
    const out: ResponsesEvent[] = [];
    if (this.final) return out;
    switch (e.type) {
      case "status":
        if (e.data.served_model) this.model = e.data.served_model;
        if (e.data.status === "retrieving" || e.data.status === "running") this.started(out);
        break;
      case "delta":
        this.started(out);
        this.textDelta(out, e.data.text);
        break;
      case "tool_call":
        this.started(out);
        this.callPiece(out, e.data.index, e.data);
        break;
      case "restart":
        if (this.msg || this.calls.size > 0) {
          this.closeMessage(out, "incomplete");
          this.closeCalls(out, "incomplete");
          this.calls.clear();
          this.restarts++;
        }
        break;
      case "done":
        this.finish(out, e.data.job);
        break;
      case "error":
        if (!terminalView) throw new Error("a terminal error event is rendered with the job's final view");
        this.finish(out, terminalView);
        break;
      case "citations":
      case "usage":
        break;
    }
    return out;
  }

  private finish(out: ResponsesEvent[], view: JobView): void {
    this.started(out);
    const status = responseStatusOf(view);
    const answer = view.output;
    if (answer) {
      // Whatever the stream has not carried yet (a stream past its retention carries nothing).
      if (answer.text.startsWith(this.msg?.text ?? "")) this.textDelta(out, answer.text.slice(this.msg?.text.length ?? 0));
      for (const [i, call] of (answer.tool_calls ?? []).entries()) {
        const streamed = this.calls.get(i)?.args ?? "";
        this.callPiece(out, i, {
          id: call.id,
          name: call.function.name,
          arguments: call.function.arguments.startsWith(streamed) ? call.function.arguments.slice(streamed.length) : "",
        });
        const c = this.calls.get(i)!;
        c.callId ||= call.id;
        c.name ||= call.function.name;
      }
    }
    const itemState: ItemState = status === "completed" ? "completed" : "incomplete";
    const msg = this.msg;
    const calls = [...this.calls.values()];
    this.closeMessage(out, itemState);
    this.closeCalls(out, itemState);
    // A failed or cancelled job has no answer: what it streamed was closed above, and the Response holds none.
    const output: unknown[] = [];
    if (answer && msg)
      output.push({
        id: msg.id,
        type: "message",
        status: itemState,
        content: [{ type: "output_text", annotations: [], text: answer.text }],
        role: "assistant",
      });
    if (answer) for (const c of calls) output.push({ id: c.id, type: "function_call", status: itemState, arguments: c.args, call_id: c.callId, name: c.name });
    this.final = finalResponse(this.rec, view, output);
    const type = status === "completed" ? "response.completed" : status === "incomplete" ? "response.incomplete" : "response.failed";
    out.push(this.ev(type, { response: this.final }));
  }
}

/** The Response object of a finished job, with the output items the stream rendered. */
function finalResponse(rec: StoredResponse, view: JobView, output: unknown[]): ResponseObject {
  const status = responseStatusOf(view);
  const res = responseShell(rec, status, view.served_model ?? rec.params.model);
  res.output = output;
  if (status === "completed" && view.completed_at) res.completed_at = seconds(view.completed_at);
  if (view.usage) {
    res.usage = {
      input_tokens: view.usage.input_tokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: view.usage.output_tokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: view.usage.input_tokens + view.usage.output_tokens,
    };
  }
  if (status === "incomplete" && view.status === "succeeded")
    res.incomplete_details = { reason: view.output?.finish_reason === "length" ? "max_output_tokens" : "content_filter" };
  if ((status === "failed" || status === "incomplete") && view.error) {
    res.error = { code: view.error.code === "rate_limited" ? "rate_limit_exceeded" : "server_error", message: `${view.error.code}: ${view.error.message}` };
  }
  return res;
}

/** Output items of a finished response, as the model's turn in a later conversation (`previous_response_id`). */
export function outputAsItems(final: Record<string, unknown> | null): ResponseItem[] {
  const out: ResponseItem[] = [];
  for (const raw of (final?.output as unknown[] | undefined) ?? []) {
    const item = raw as Record<string, unknown>;
    if (item.type === "message") {
      const text = ((item.content as Array<{ text?: string }>) ?? []).map((p) => p.text ?? "").join("");
      out.push({ type: "message", id: String(item.id), role: "assistant", status: "completed", content: [{ type: "output_text", text, annotations: [] }] });
    } else if (item.type === "function_call") {
      out.push({
        type: "function_call",
        id: String(item.id),
        call_id: String(item.call_id),
        name: String(item.name),
        arguments: String(item.arguments),
        status: "completed",
      });
    }
  }
  return out;
}
