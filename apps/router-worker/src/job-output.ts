import type { JobStore } from "@switchyard/queue";
import { noFaults, type Fault } from "./fault-points";

/**
 * The answer as clients see it: deltas go to the job's event stream in order; a `restart` event
 * tells them to drop what came before it. `text` is the answer since the last restart.
 */
export class JobOutput {
  text = "";
  private sinceRestart = 0;
  /** When the first delta of this attempt went out (epoch ms). */
  firstDeltaAt: number | null = null;
  /** When the first delta of the current provider call went out (epoch ms): its time to first token. */
  firstDeltaOfCallAt: number | null = null;
  /** False once the job ended under us (canceled): stop generating. */
  live = true;

  constructor(private readonly store: JobStore, private readonly jobId: string, private readonly fault: Fault = noFaults) {}

  /** Append a delta; false when the job has already ended. */
  async delta(text: string): Promise<boolean> {
    if (!this.live) return false;
    if (!(await this.store.append(this.jobId, { type: "delta", data: { text } }))) {
      this.live = false;
      return false;
    }
    this.text += text;
    this.sinceRestart++;
    this.firstDeltaAt ??= Date.now();
    this.firstDeltaOfCallAt ??= Date.now();
    this.fault("delta");
    return true;
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
    if (!this.begun) return;
    if (!(await this.store.append(this.jobId, { type: "restart", data: { reason } }))) this.live = false;
    this.text = "";
    this.sinceRestart = 0;
  }
}
