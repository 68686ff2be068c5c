/**
 * What a process has opened, closed in reverse order of opening: a consumer stops before the
 * connection it reads from, a connection before the registry that counted its traffic.
 */
export class CloserStack {
  private readonly steps: Array<{ name: string; close: () => unknown }> = [];
  private closing: Promise<void> | null = null;

  /** Close `name` with `close` at shutdown, before everything deferred earlier. */
  defer(name: string, close: () => unknown): void {
    if (this.closing) throw new Error(`cannot open ${name}: the process is closing`);
    this.steps.push({ name, close });
  }

  /**
   * Run every step, last deferred first, each awaited before the next. A step that fails does not
   * stop the rest (a connection left open would keep the process alive); the failures are thrown
   * once all have run. Calling again returns the same promise.
   */
  close(): Promise<void> {
    return (this.closing ??= this.run());
  }

  private async run(): Promise<void> {
    const failures: Error[] = [];
    for (const step of this.steps.slice().reverse()) {
      try {
        await step.close();
      } catch (err) {
        failures.push(new Error(`closing ${step.name}: ${(err as Error).message}`, { cause: err }));
      }
    }
    const [first] = failures;
    if (failures.length > 1) throw new AggregateError(failures, failures.map((f) => f.message).join("; "));
    if (first) throw first;
  }
}
