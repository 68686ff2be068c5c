import { z } from "zod";

/*
 * The chat message shapes, apart from jobs.ts so that tools.ts (agent messages) and jobs.ts (the
 * job request, which takes agent messages) can both build on them without an import cycle.
 */

export const ChatRole = z.enum(["system", "user", "assistant"]);
export const TextPart = z.strictObject({ type: z.literal("text"), text: z.string().min(1, "text must not be empty").max(200_000) });
export const ImagePart = z.strictObject({
  type: z.literal("image_url"),
  image_url: z.strictObject({
    url: z
      .string()
      .max(20_000_000)
      .refine((u) => /^(https?:\/\/|data:image\/(png|jpeg|gif|webp);base64,)/.test(u), "url must be http(s) or a data:image/…;base64 URL"),
    detail: z.enum(["auto", "low", "high"]).optional(),
  }),
});
export const ContentPart = z.discriminatedUnion("type", [TextPart, ImagePart]);
export type ContentPart = z.infer<typeof ContentPart>;
export const ChatMessage = z.strictObject({
  role: ChatRole,
  /** A string, or parts (text and images) as in OpenAI's chat format. */
  content: z.union([z.string().min(1, "content must not be empty").max(200_000), z.array(ContentPart).min(1, "content must have at least one part").max(100)]),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/** The text of a message, parts joined; images contribute nothing. */
export function messageText(m: Pick<ChatMessage, "content">): string {
  return typeof m.content === "string" ? m.content : m.content.map((p) => (p.type === "text" ? p.text : "")).join("\n");
}

/** True when any message carries an image (routing then needs a vision model); agent messages included. */
export function hasImages(messages: ReadonlyArray<{ content?: string | ReadonlyArray<{ type: string }> | null }>): boolean {
  return messages.some((m) => Array.isArray(m.content) && m.content.some((p: { type: string }) => p.type === "image_url"));
}
