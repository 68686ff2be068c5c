import { CloserStack } from "./closer-stack";

test("closes in reverse order of opening, each step awaited before the next", async () => {
  const stack = new CloserStack();
  const log: string[] = [];
  for (const name of ["registry", "redis", "queues", "consumer"]) {
    stack.defer(name, async () => {
      log.push(`${name} closing`);
      await new Promise((r) => setTimeout(r, 5));
      log.push(`${name} closed`);
    });
  }
  await stack.close();
  expect(log).toEqual([
    "consumer closing",
    "consumer closed",
    "queues closing",
    "queues closed",
    "redis closing",
    "redis closed",
    "registry closing",
    "registry closed",
  ]);
});

test("a failing step does not stop the others; its failure is thrown once all have run", async () => {
  const stack = new CloserStack();
  const closed: string[] = [];
  stack.defer("a", () => closed.push("a"));
  stack.defer("b", () => {
    throw new Error("boom");
  });
  stack.defer("c", () => closed.push("c"));
  await expect(stack.close()).rejects.toThrow("closing b: boom");
  expect(closed).toEqual(["c", "a"]);
});

test("several failures are thrown together", async () => {
  const stack = new CloserStack();
  stack.defer("a", () => Promise.reject(new Error("one")));
  stack.defer("b", () => Promise.reject(new Error("two")));
  const err = (await stack.close().catch((e: unknown) => e)) as AggregateError;
  expect(err).toBeInstanceOf(AggregateError);
  expect(err.errors.map((e: Error) => e.message)).toEqual(["closing b: two", "closing a: one"]);
});

test("closing twice runs every step once; nothing can be opened once closing", async () => {
  const stack = new CloserStack();
  let runs = 0;
  stack.defer("a", () => runs++);
  await Promise.all([stack.close(), stack.close()]);
  await stack.close();
  expect(runs).toBe(1);
  expect(() => stack.defer("late", () => undefined)).toThrow("cannot open late: the process is closing");
});
