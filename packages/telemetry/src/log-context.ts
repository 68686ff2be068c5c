import { AsyncLocalStorage } from "node:async_hooks";

/** Fields every log line carries while a request or job is handled (`jobId`, `tenantId`, `requestId`). */
export type LogFields = Record<string, string | number | boolean | undefined>;

const storage = new AsyncLocalStorage<LogFields>();

/** Run `fn` with `fields` added to every log line written inside it (and whatever it awaits). */
export function withLogContext<T>(fields: LogFields, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...fields }, fn);
}

/** Add fields to the current context (e.g. the tenant once the key is checked); no-op outside one. */
export function addLogContext(fields: LogFields): void {
  const store = storage.getStore();
  if (store) Object.assign(store, fields);
}

/** The current context's fields, for the logger's mixin. */
export function currentLogContext(): LogFields | undefined {
  return storage.getStore();
}
