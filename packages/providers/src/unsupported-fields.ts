import type { ModelEntry, ProviderName } from "@switchyard/contracts";
import { anthropicUnsupportedFields } from "./anthropic/tools";
import { geminiUnsupportedFields } from "./gemini/tools";
import { openaiUnsupportedFields } from "./openai/tools";
import { simulatedUnsupportedFields } from "./simulated/tools";
import type { ChatRequest, UnsupportedFields } from "./types";

const byProvider: Record<ProviderName, UnsupportedFields> = {
  simulated: simulatedUnsupportedFields,
  openai: openaiUnsupportedFields,
  anthropic: anthropicUnsupportedFields,
  gemini: geminiUnsupportedFields,
};

/**
 * The request fields the provider that serves `entry` cannot honour, named as in OpenAI's
 * request (`tools`, `response_format`, `seed`, `tools.0.function.strict` …); empty when it can
 * serve the request as asked. `simulated` is the registry's answer for the entry
 * (`forModel(entry).simulated`): an entry without a configured provider is served, and judged,
 * by the simulated provider.
 */
export function unsupportedFields(req: ChatRequest, entry: ModelEntry, opts: { simulated?: boolean } = {}): string[] {
  return (opts.simulated === true ? simulatedUnsupportedFields : byProvider[entry.provider])(req, entry);
}
