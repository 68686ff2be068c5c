import { z } from "zod";

export const SCOPES = ["jobs:write", "jobs:read", "documents:write", "documents:read", "usage:read", "reports:read", "admin"] as const;
export const Scope = z.enum(SCOPES);
export type Scope = z.infer<typeof Scope>;

export const CreateTenantRequest = z.strictObject({
  name: z.string().trim().min(1).max(200),
  timezone: z.string().min(1).max(64).refine(isValidTimeZone, "timezone must be an IANA time zone such as Europe/Berlin").default("UTC"),
  billing_mode: z.enum(["postpaid", "prepaid"]).default("postpaid"),
});
export type CreateTenantRequest = z.infer<typeof CreateTenantRequest>;

export const CreateApiKeyRequest = z.strictObject({
  name: z.string().trim().min(1).max(200),
  scopes: z.array(Scope).min(1).refine((s) => new Set(s).size === s.length, "scopes must not repeat"),
  deployment_id: z.string().min(1).optional(),
  expires_at: z.iso.datetime({ offset: true }).optional(),
});
export type CreateApiKeyRequest = z.infer<typeof CreateApiKeyRequest>;

function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
