import { Writable } from "node:stream";
import { createLogger } from "./logger";
import { addLogContext, withLogContext } from "./log-context";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, logger: createLogger({ name: "t", destination }) };
}

test("lines written inside withLogContext carry its fields, across awaits; lines outside do not", async () => {
  const { lines, logger } = capture();
  await withLogContext({ jobId: "job_1", tenantId: "ten_a" }, async () => {
    await new Promise((r) => setTimeout(r, 5));
    logger.info("inside");
  });
  logger.info("outside");
  expect(lines[0]).toMatchObject({ msg: "inside", jobId: "job_1", tenantId: "ten_a" });
  expect(lines[1]).not.toHaveProperty("jobId");
});

test("addLogContext adds to the current context only; nested contexts inherit; explicit fields win", async () => {
  const { lines, logger } = capture();
  addLogContext({ jobId: "nowhere" });
  await withLogContext({ requestId: "req_1" }, async () => {
    addLogContext({ tenantId: "ten_b" });
    await withLogContext({ jobId: "job_2" }, async () => logger.info("nested"));
    logger.info({ tenantId: "explicit" }, "override");
  });
  logger.info("after");
  expect(lines[0]).toMatchObject({ requestId: "req_1", tenantId: "ten_b", jobId: "job_2" });
  expect(lines[1]).toMatchObject({ requestId: "req_1", tenantId: "explicit" });
  expect(lines[1]).not.toHaveProperty("jobId");
  expect(lines[2]).not.toHaveProperty("jobId");
  expect(lines[2]).not.toHaveProperty("requestId");
});

test("concurrent contexts do not leak into each other", async () => {
  const { lines, logger } = capture();
  await Promise.all(
    ["a", "b", "c"].map((id, i) =>
      withLogContext({ jobId: id }, async () => {
        await new Promise((r) => setTimeout(r, 10 - i * 3));
        logger.info(id);
      }),
    ),
  );
  for (const l of lines) expect(l.jobId).toBe(l.msg);
});
