import { contentText, type ContentPart } from "@switchyard/contracts";
import type { ProviderHttp } from "../http/provider-http";
import type { ChatRequest } from "../types";
import { refuseFields } from "../capabilities";
import { addAnthropicAgentFields, anthropicRefusals, toolResultBlock, toolUseBlocks, type AnthropicToolBlock } from "./tools";

/** What chat and streamChat share: the pool and the per-provider settings. */
export interface AnthropicContext {
  http: ProviderHttp;
  timeoutMs: number;
  streamIdleTimeoutMs: number;
  defaultMaxTokens: number;
}

/** One Messages API content block we send: text, or an image by URL or by base64 bytes. */
export type AnthropicInputBlock =
  | { type: "text"; text: string }
  | { type: "image"; source: { type: "url"; url: string } | { type: "base64"; media_type: string; data: string } }
  | AnthropicToolBlock;

export interface AnthropicInputMessage {
  role: "user" | "assistant";
  content: string | AnthropicInputBlock[];
}

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

/** An OpenAI-style image part as an Anthropic image block: `url` source for http(s), `base64` for a data URL. */
export function imageBlock(url: string): AnthropicInputBlock {
  const data = DATA_URL.exec(url);
  if (data) return { type: "image", source: { type: "base64", media_type: data[1] ?? "image/png", data: data[2] ?? "" } };
  return { type: "image", source: { type: "url", url } };
}

function contentBlocks(parts: ContentPart[]): AnthropicInputBlock[] {
  return parts.map((p) => (p.type === "text" ? { type: "text", text: p.text } : imageBlock(p.image_url.url)));
}

/**
 * The Messages API body for a ChatRequest.
 * - System messages (wherever they are) are joined with a blank line into the top-level `system`
 *   field: the API has no `system` role. Their images, if any, are dropped (system is text only).
 * - `max_tokens` is required by the API: `req.maxTokens`, else `defaultMaxTokens`.
 * - `temperature` is clamped to the API's 0–1 range (OpenAI-style requests allow up to 2, and a
 *   400 after admission would fail a job that another provider would have served).
 * - `user` goes to `metadata.user_id`, the API's end-user field.
 * - `developer` messages count as system messages; `tool` messages become `tool_result` blocks
 *   (consecutive ones in one user message) and assistant `tool_calls` become `tool_use` blocks.
 * - Tools, tool choice and stop sequences: see `addAnthropicAgentFields`. A field the API cannot
 *   honour (`anthropicRefusals`) fails the call with `bad_request` naming it, never dropped.
 */
export function buildMessagesBody(req: ChatRequest, opts: { stream: boolean; defaultMaxTokens: number }): Record<string, unknown> {
  refuseFields(req, anthropicRefusals(req));
  const system: string[] = [];
  const messages: AnthropicInputMessage[] = [];
  for (const [i, m] of req.messages.entries()) {
    if (m.role === "system" || m.role === "developer") {
      system.push(contentText(m.content));
    } else if (m.role === "tool") {
      // Every result of one turn's calls goes in one user message, results first.
      const last = messages.at(-1)?.content;
      const results: AnthropicInputBlock[] | undefined = Array.isArray(last) && last[0]?.type === "tool_result" ? last : undefined;
      if (results) results.push(toolResultBlock(m));
      else messages.push({ role: "user", content: [toolResultBlock(m)] });
    } else if (m.role === "assistant" && "tool_calls" in m && m.tool_calls !== undefined) {
      const text = contentText(m.content);
      messages.push({ role: "assistant", content: [...(text === "" ? [] : [{ type: "text" as const, text }]), ...toolUseBlocks(m.tool_calls, i)] });
    } else {
      const content = m.content ?? "";
      messages.push({ role: m.role, content: typeof content === "string" ? content : contentBlocks(content) });
    }
  }
  const body: Record<string, unknown> = { model: req.model, max_tokens: req.maxTokens ?? opts.defaultMaxTokens };
  if (system.length > 0) body.system = system.join("\n\n");
  body.messages = messages;
  if (req.temperature !== undefined) body.temperature = Math.min(1, Math.max(0, req.temperature));
  if (req.user !== undefined) body.metadata = { user_id: req.user };
  addAnthropicAgentFields(body, req);
  if (opts.stream) body.stream = true;
  return body;
}
