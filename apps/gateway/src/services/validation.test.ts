import { CreateJobRequest } from "@switchyard/contracts";
import { parseBody } from "./validation";

const fail = (body: unknown) => {
  try {
    parseBody(CreateJobRequest, body);
  } catch (err) {
    return err as { status: number; code: string; param?: string; message: string };
  }
  throw new Error("expected a validation error");
};

test("unknown fields are named, with their path", () => {
  expect(fail({ messages: [{ role: "user", content: "x" }], extra: 1 })).toMatchObject({ status: 400, code: "unknown_field", param: "extra" });
  expect(fail({ messages: [{ role: "user", content: "x", foo: 1 }] })).toMatchObject({ code: "unknown_field", param: "messages.0.foo" });
});

test("type and range problems name the field", () => {
  expect(fail({ messages: [] })).toMatchObject({ code: "invalid_request", param: "messages" });
  expect(fail({ messages: [{ role: "user", content: "x" }], max_tokens: 0 })).toMatchObject({ param: "max_tokens" });
  expect(fail({ messages: [{ role: "user", content: "x" }], max_tokens: 1e9 }).message).toMatch(/^max_tokens: /);
});

test("a body that is not an object is a 400 without a field", () => {
  for (const body of [undefined, null, [], "text", 3]) expect(fail(body)).toMatchObject({ status: 400, code: "invalid_request", param: undefined });
});

test("defaults are applied to a valid body", () => {
  expect(parseBody(CreateJobRequest, { messages: [{ role: "user", content: "x" }] })).toMatchObject({ model: "auto", priority: "normal" });
});
