import { Writable } from "node:stream";
import { createLogger } from "@switchyard/telemetry";
import { logScrubber } from "./log-scrubber";

test("a logger built with the scrubber never writes the PII it was given", () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ name: "t", destination: sink, scrub: logScrubber });
  logger.info(
    { query: "mail jane.doe@example.com or call +1 415 555 0132", nested: { card: "4111 1111 1111 1111" }, jobId: "job_1" },
    "user 10.0.0.7 asked about SSN 123-45-6789",
  );
  expect(lines).toHaveLength(1);
  const line = lines[0]!;
  for (const secret of ["jane.doe@example.com", "555 0132", "4111 1111 1111 1111", "10.0.0.7", "123-45-6789"]) expect(line).not.toContain(secret);
  const parsed = JSON.parse(line);
  expect(parsed.query).toContain("[EMAIL]");
  expect(parsed.msg).toContain("[SSN]");
  expect(parsed.jobId).toBe("job_1");
});
