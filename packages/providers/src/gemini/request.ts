import { contentText, type ContentPart } from "@switchyard/contracts";
import type { ProviderHttp } from "../http/provider-http";
import type { ChatRequest } from "../types";
import { refuseFields } from "../capabilities";
import { addGeminiAgentFields, functionCallParts, functionResponsePart, geminiRefusals, type GeminiToolPart } from "./tools";

/** What chat, streamChat and embed share: the pool and the per-provider settings. */
export interface GeminiContext {
  http: ProviderHttp;
  apiVersion: string;
  timeoutMs: number;
  streamIdleTimeoutMs: number;
  embedBatchSize: number;
}

/** One Gemini `Part` we send. */
export type GeminiPart =
  { text: string } | { inlineData: { mimeType: string; data: string } } | { fileData: { mimeType: string; fileUri: string } } | GeminiToolPart;

export interface GeminiContent {
  role: "user" | "model";
  parts: GeminiPart[];
}

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;
const EXTENSION_TYPES: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  heic: "image/heic",
  heif: "image/heif",
};

/**
 * An OpenAI-style image part as a Gemini part: a data URL becomes `inlineData`; an http(s) URL
 * becomes `fileData` with a MIME type guessed from the file extension (default `image/jpeg`).
 * Limitation: the Gemini API fetches `fileData.fileUri` itself and documents it for Files API
 * URIs (`https://generativelanguage.googleapis.com/v1beta/files/…`); an arbitrary public URL may
 * be refused with a 400. Send images as data URLs when they must reach Gemini reliably.
 */
export function imagePart(url: string): GeminiPart {
  const data = DATA_URL.exec(url);
  if (data) return { inlineData: { mimeType: data[1] ?? "image/png", data: data[2] ?? "" } };
  let ext: string;
  try {
    ext = new URL(url).pathname.split(".").pop()?.toLowerCase() ?? "";
  } catch {
    ext = "";
  }
  return { fileData: { mimeType: EXTENSION_TYPES[ext] ?? "image/jpeg", fileUri: url } };
}

function partsOf(content: string | ContentPart[]): GeminiPart[] {
  if (typeof content === "string") return [{ text: content }];
  return content.map((p) => (p.type === "text" ? { text: p.text } : imagePart(p.image_url.url)));
}

/** `models/<id>` for a bare id; a full resource name (`models/…`, `tunedModels/…`) is kept. */
export function modelResource(model: string): string {
  return model.includes("/") ? model : `models/${model}`;
}

/** Path of a model method, e.g. `/v1beta/models/gemini-2.5-flash:generateContent`. */
export function methodPath(ctx: Pick<GeminiContext, "apiVersion">, model: string, method: string): string {
  return `/${ctx.apiVersion}/${modelResource(model).split("/").map(encodeURIComponent).join("/")}:${method}`;
}

/**
 * The `generateContent` body for a ChatRequest. System messages become `systemInstruction`
 * (one text part each, in order); `assistant` turns are `model` turns; consecutive turns of one
 * role are merged into one Content, since Gemini expects user and model turns to alternate.
 * `maxTokens` and `temperature` go to `generationConfig`. Gemini has no end-user field, so
 * `user` is not sent. `developer` messages count as system messages; assistant `tool_calls`
 * become `functionCall` parts of the model turn and `tool` messages `functionResponse` parts of
 * a user turn. Tools, tool config and the other generation options: see `addGeminiAgentFields`.
 */
export function buildGenerateContentBody(req: ChatRequest): Record<string, unknown> {
  refuseFields(req, geminiRefusals(req));
  const system: GeminiPart[] = [];
  const contents: GeminiContent[] = [];
  const namesById = new Map<string, string>();
  const push = (role: GeminiContent["role"], parts: GeminiPart[]): void => {
    const last = contents.at(-1);
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  for (const [i, m] of req.messages.entries()) {
    if (m.role === "system" || m.role === "developer") {
      system.push({ text: contentText(m.content) });
    } else if (m.role === "tool") {
      push("user", [functionResponsePart(m, i, namesById)]);
    } else if (m.role === "assistant" && "tool_calls" in m && m.tool_calls !== undefined) {
      for (const c of m.tool_calls) namesById.set(c.id, c.function.name);
      const text = contentText(m.content);
      push("model", [...(text === "" ? [] : [{ text }]), ...functionCallParts(m.tool_calls, i)]);
    } else {
      push(m.role === "assistant" ? "model" : "user", partsOf(m.content ?? ""));
    }
  }
  const body: Record<string, unknown> = {};
  if (system.length > 0) body.systemInstruction = { parts: system };
  body.contents = contents;
  const generationConfig: Record<string, unknown> = {};
  if (req.maxTokens !== undefined) generationConfig.maxOutputTokens = req.maxTokens;
  if (req.temperature !== undefined) generationConfig.temperature = req.temperature;
  addGeminiAgentFields(body, generationConfig, req);
  if (Object.keys(generationConfig).length > 0) body.generationConfig = generationConfig;
  return body;
}
