import { stopSequences, type CreateJobRequest, type ModelEntry } from "@switchyard/contracts";
import type { ChatRequest } from "./types";
import { unsupportedFields } from "./unsupported-fields";

/**
 * The provider call a job asks for, on `model` (the entry's upstream name): its messages and
 * every agent field under the adapters' names. A job that declares tools becomes a
 * ToolChatRequest (its stream may carry `tool_call` chunks); any other a TextChatRequest.
 */
export function chatRequestForJob(job: CreateJobRequest, model: string, signal?: AbortSignal): ChatRequest {
  const base = {
    model,
    messages: job.messages,
    maxTokens: job.max_tokens,
    temperature: job.temperature,
    user: job.user,
    stop: stopSequences(job.stop),
    seed: job.seed,
    responseFormat: job.response_format,
    presencePenalty: job.presence_penalty,
    frequencyPenalty: job.frequency_penalty,
    logprobs: job.logprobs,
    topLogprobs: job.top_logprobs,
    signal,
  };
  // Absent fields stay absent: adapters send only what was set.
  for (const k of Object.keys(base) as Array<keyof typeof base>) if (base[k] === undefined) delete base[k];
  if (job.tools !== undefined && job.tools.length > 0) {
    return {
      ...base,
      tools: job.tools,
      ...(job.tool_choice !== undefined ? { toolChoice: job.tool_choice } : {}),
      ...(job.parallel_tool_calls !== undefined ? { parallelToolCalls: job.parallel_tool_calls } : {}),
    };
  }
  return base;
}

/** The catalog capabilities a job needs from every model that may serve it. */
export function jobNeeds(job: CreateJobRequest): { tools: boolean; json_schema: boolean } {
  return { tools: (job.tools?.length ?? 0) > 0, json_schema: job.response_format?.type === "json_schema" };
}

/**
 * The fields of a job the model `entry` cannot honour (catalog capabilities and its adapter's
 * refusals), named as in OpenAI's request; `simulated` as the registry resolves the entry.
 */
export function unsupportedJobFields(job: CreateJobRequest, entry: ModelEntry, simulated: boolean): string[] {
  return unsupportedFields(chatRequestForJob(job, entry.upstream_model), entry, { simulated });
}

/**
 * `unsupportedJobFields` for several models at once: the provider call is built once (what a
 * model cannot honour does not depend on its upstream name), not once per model.
 */
export function unsupportedJobFieldsFor(job: CreateJobRequest, entries: ReadonlyArray<{ entry: ModelEntry; simulated: boolean }>): string[][] {
  const call = chatRequestForJob(job, "");
  return entries.map(({ entry, simulated }) => unsupportedFields({ ...call, model: entry.upstream_model }, entry, { simulated }));
}
