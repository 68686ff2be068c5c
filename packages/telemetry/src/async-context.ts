import { AsyncLocalStorage } from "node:async_hooks";
import { ROOT_CONTEXT, type Context, type ContextManager } from "@opentelemetry/api";

/**
 * The process's one AsyncLocalStorage. It holds OpenTelemetry's active `Context`, and the log
 * fields ride in that context as one more value (`log-context.ts`), so a request pays for one
 * store, not two: on Node 20 every enabled AsyncLocalStorage is copied onto every promise the
 * process creates, whether or not anything reads it.
 */
const storage = new AsyncLocalStorage<Context>();

/** The active context; `ROOT_CONTEXT` outside any. */
export function activeContext(): Context {
  return storage.getStore() ?? ROOT_CONTEXT;
}

/** Run `fn` with `ctx` active for everything it calls and awaits. */
export function runWithContext<T>(ctx: Context, fn: () => T): T {
  return storage.run(ctx, fn);
}

/**
 * OpenTelemetry's context manager over that storage; `initTracing` registers it, so spans and log
 * fields share one store. Functions are bound to a context; other targets (event emitters) are
 * returned as they are (nothing here binds emitters). `disable` leaves the storage alone: log
 * contexts still use it after tracing is shut down.
 */
export const asyncContextManager: ContextManager = {
  active: activeContext,
  with(ctx, fn, thisArg, ...args) {
    return storage.run(ctx, thisArg == null ? fn : fn.bind(thisArg), ...args);
  },
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== "function") return target;
    const fn = target as (...args: unknown[]) => unknown;
    return function (this: unknown, ...args: unknown[]) {
      return storage.run(ctx, () => fn.apply(this, args));
    } as T;
  },
  enable() {
    return this;
  },
  disable() {
    return this;
  },
};
