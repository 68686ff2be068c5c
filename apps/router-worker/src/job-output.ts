import type { OutputLogprob, ToolCall } from "@switchyard/contracts";
import type { JobStore } from "@switchyard/queue";
import { noFaults, type Fault } from "./fault-points";

/** One tool call as its fragments arrived: `id` and `name` from its first fragment, `arguments` joined. */
interface CallSoFar {
  id?: string;
  name?: string;
  arguments: string;
}

/**
 * The answer as clients see it: deltas and tool-call fragments go to the job's event stream in
 * order; a `restart` event tells them to drop what came before it. `text`, `toolCalls` and
 * `logprobs` are the answer since the last restart.
 */
export class JobOutput {
  text = "";
  /** Tool calls by index since the last restart. */
  private calls: CallSoFar[] = [];
  /** Token log probabilities since the last restart (when the job asked for them). */
  logprobs: OutputLogprob[] = [];
  private sinceRestart = 0;
  /** When the first delta of this attempt went out (epoch ms). */
  firstDeltaAt: number | null = null;
  /** When the first delta of the current provider call went out (epoch ms): its time to first token. */
  firstDeltaOfCallAt: number | null = null;
  /** False once the job ended under us (canceled): stop generating. */
  live = true;

  /** Set by {@link holdUntil}: nothing is written before it resolves, nothing at all if it resolves false. */
  private gate: Promise<boolean> | null = null;

  constructor(
    private readonly store: JobStore,
    private readonly jobId: string,
    private readonly fault: Fault = noFaults,
  ) {}

  /**
   * Write nothing until `ready` resolves (true: go on; false: the job is not ours to write to, as
   * when it ended). A provider call can then start before the writes that must precede its
   * output (the run's start, its `running` status) have been confirmed.
   */
  holdUntil(ready: Promise<boolean>): void {
    this.gate = ready;
  }

  /** Waits for a held gate; false when the output may not be written. */
  private async writable(): Promise<boolean> {
    if (this.gate) {
      const open = await this.gate.catch(() => false);
      this.gate = null;
      if (!open) this.live = false;
    }
    return this.live;
  }

  /** Append a delta (with its tokens' log probabilities, if any); false when the job has already ended. */
  async delta(text: string, logprobs?: OutputLogprob[]): Promise<boolean> {
    if (!(await this.writable())) return false;
    const data = logprobs && logprobs.length > 0 ? { text, logprobs } : { text };
    if (!(await this.store.append(this.jobId, { type: "delta", data }))) {
      this.live = false;
      return false;
    }
    this.text += text;
    if (logprobs) this.logprobs.push(...logprobs);
    this.began();
    return true;
  }

  /**
   * Append a fragment of tool call `index` (OpenAI's streaming shape: `id` and `name` on its first
   * fragment, `arguments` pieces after); false when the job has already ended. It counts as
   * output, like a delta: it starts the run's tally and a restart takes it back.
   */
  async toolCall(f: { index: number; id?: string; name?: string; arguments: string }): Promise<boolean> {
    if (!(await this.writable())) return false;
    const data = { index: f.index, ...(f.id !== undefined ? { id: f.id } : {}), ...(f.name !== undefined ? { name: f.name } : {}), arguments: f.arguments };
    if (!(await this.store.append(this.jobId, { type: "tool_call", data }))) {
      this.live = false;
      return false;
    }
    const call = (this.calls[f.index] ??= { arguments: "" });
    call.id ??= f.id;
    call.name ??= f.name;
    call.arguments += f.arguments;
    this.began();
    return true;
  }

  private began(): void {
    this.sinceRestart++;
    this.firstDeltaAt ??= Date.now();
    this.firstDeltaOfCallAt ??= Date.now();
    this.fault("delta");
  }

  /**
   * The tool calls of the answer in index order; a call whose fragments never named its function
   * is a malformed answer (null). A call without an id gets one made from the job and its index.
   */
  toolCalls(): ToolCall[] | null {
    const out: ToolCall[] = [];
    for (const [i, c] of this.calls.entries()) {
      if (!c || c.name === undefined) return null;
      out.push({ id: c.id ?? `call_${this.jobId}_${i}`, type: "function", function: { name: c.name, arguments: c.arguments } });
    }
    return out;
  }

  /** What the answer produced so far, as text to bill when the provider reported no usage: text, then each call's name and arguments. */
  get billableText(): string {
    return this.text + this.calls.map((c) => (c ? `${c.name ?? ""}${c.arguments}` : "")).join("");
  }

  /** A new provider call starts (a fallback model): its time to first token starts afresh. */
  beginCall(): void {
    this.firstDeltaOfCallAt = null;
  }

  /** True once any delta went out in this attempt, even if a restart later took it back. */
  get everBegan(): boolean {
    return this.firstDeltaAt !== null;
  }

  /** True when clients have seen deltas they would need to drop. */
  get begun(): boolean {
    return this.sinceRestart > 0;
  }

  /** Announce a restart (only when output already began) and start the answer afresh. */
  async restart(reason: string): Promise<void> {
    if (!this.begun || !(await this.writable())) return;
    if (!(await this.store.append(this.jobId, { type: "restart", data: { reason } }))) this.live = false;
    this.text = "";
    this.calls = [];
    this.logprobs = [];
    this.sinceRestart = 0;
  }
}
