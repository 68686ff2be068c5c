import { z } from "zod";

/** Which limit refused a request (`rate_limit_rejections_total{reason}`, 429 bodies). */
export const RateLimitReason = z.enum([
  "requests_per_minute",
  "requests_per_hour",
  "requests_per_day",
  "requests_per_window",
  "tokens_per_request",
  "tokens_per_day",
  "end_user_daily",
  "end_user_monthly",
]);
export type RateLimitReason = z.infer<typeof RateLimitReason>;

/** A move along the fallback chain (`ai_fallback_total{kind}`): to a lower tier, a higher one, or after an error. */
export const FALLBACK_KINDS = ["downgrade", "upshift", "error"] as const;
export type FallbackKind = (typeof FALLBACK_KINDS)[number];

/** `ai_rag_requests_total{result}`. */
export const RAG_RESULTS = ["hit", "miss"] as const;

/** `ai_tokens_total{kind}`. */
export const TOKEN_KINDS = ["input", "output", "cached"] as const;
