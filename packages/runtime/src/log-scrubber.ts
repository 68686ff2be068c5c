import { redactLogObject, redactPII } from "@switchyard/telemetry";

/** The PII redactor as a log scrubber: every app's logger runs lines through it (`createLogger({ scrub })`). */
export const logScrubber = {
  object: (o: Record<string, unknown>) => redactLogObject(o),
  text: (s: string) => redactPII(s).text,
};
