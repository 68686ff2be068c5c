import { CreateJobRequest, type ModelEntry } from "@switchyard/contracts";
import { hasTools } from "./types";
import { chatRequestForJob, jobNeeds, unsupportedJobFields } from "./job-request";

const entry = (provider: ModelEntry["provider"], caps: Partial<ModelEntry["capabilities"]> = {}): ModelEntry => ({
  id: `${provider}-m`,
  provider,
  upstream_model: "up",
  tier: "flash",
  capabilities: { vision: false, long_context: false, tools: true, json_schema: true, ...caps },
  context_window: 1000,
  max_output_tokens: 100,
  pricing: { input: 1, output: 1, cached_input: 0 },
});
const tool = { type: "function", function: { name: "f", parameters: { type: "object", properties: {} }, strict: true } };

test("a job's agent fields become the provider call's, and only set ones", () => {
  const job = CreateJobRequest.parse({
    messages: [{ role: "user", content: "x" }],
    tools: [tool],
    tool_choice: "required",
    parallel_tool_calls: false,
    stop: "END",
    seed: 3,
    response_format: { type: "json_object" },
  });
  const req = chatRequestForJob(job, "up");
  expect(hasTools(req)).toBe(true);
  expect(req).toMatchObject({ model: "up", toolChoice: "required", parallelToolCalls: false, stop: ["END"], seed: 3, responseFormat: { type: "json_object" } });
  expect("temperature" in req).toBe(false);
  expect(hasTools(chatRequestForJob(CreateJobRequest.parse({ messages: [{ role: "user", content: "x" }] }), "up"))).toBe(false);
  expect(jobNeeds(job)).toEqual({ tools: true, json_schema: false });
});

test("unsupported fields are judged per provider, and by the simulated rules when the entry is simulated", () => {
  const job = CreateJobRequest.parse({ messages: [{ role: "user", content: "x" }], tools: [tool], seed: 1 });
  expect(unsupportedJobFields(job, entry("anthropic"), false)).toEqual(expect.arrayContaining(["seed", "tools.0.function.strict"]));
  expect(unsupportedJobFields(job, entry("anthropic"), true)).toEqual([]);
  expect(unsupportedJobFields(job, entry("openai", { tools: false }), false)).toEqual(["tools"]);
  expect(unsupportedJobFields(job, entry("openai"), false)).toEqual([]);
});
