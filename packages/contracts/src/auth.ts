import { z } from "zod";
import { Budget } from "./deployments";

export const SCOPES = ["jobs:write", "jobs:read", "documents:write", "documents:read", "usage:read", "reports:read", "admin"] as const;
export const Scope = z.enum(SCOPES);
export type Scope = z.infer<typeof Scope>;

/**
 * A key's scopes as its row stores them: the repository parses rows with this. Names this version
 * does not know are kept (the authenticator grants only known scopes), so retiring a scope never
 * makes a key's row unreadable.
 */
export const StoredScopes = z.array(z.string());
export type StoredScopes = z.infer<typeof StoredScopes>;

/** Who is calling: the key a request authenticated with (set by the gateway's `authenticate`). */
export interface Principal {
  keyId: string;
  tenantId: string;
  deploymentId: string;
  scopes: ReadonlySet<Scope>;
  /** A publishable key (`sy_pk_…`): it sees only the jobs it created. */
  publishable: boolean;
}

export const CreateTenantRequest = z.strictObject({
  name: z.string().trim().min(1).max(200),
  timezone: z.string().min(1).max(64).refine(isValidTimeZone, "timezone must be an IANA time zone such as Europe/Berlin").default("UTC"),
  billing_mode: z.enum(["postpaid", "prepaid"]).default("postpaid"),
});
export type CreateTenantRequest = z.infer<typeof CreateTenantRequest>;

export const ApiKeyKind = z.enum(["secret", "publishable"]);
export type ApiKeyKind = z.infer<typeof ApiKeyKind>;

/** What a publishable key (`sy_pk_…`, used from browsers) may do; nothing else. */
export const PUBLISHABLE_SCOPES = ["jobs:write", "jobs:read"] as const satisfies readonly Scope[];

/**
 * `kind` defaults to `secret`. A publishable key needs a `deployment_id` (a public deployment) and
 * gets exactly {@link PUBLISHABLE_SCOPES} (`scopes` may be left out); a secret key needs `scopes`.
 */
export const CreateApiKeyRequest = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    kind: ApiKeyKind.default("secret"),
    scopes: z
      .array(Scope)
      .min(1)
      .refine((s) => new Set(s).size === s.length, "scopes must not repeat")
      .optional(),
    deployment_id: z.string().min(1).optional(),
    expires_at: z.iso.datetime({ offset: true }).optional(),
  })
  .superRefine((k, ctx) => {
    if (k.kind === "secret" && !k.scopes) ctx.addIssue({ code: "custom", path: ["scopes"], message: "a secret key needs scopes" });
    if (k.kind === "publishable") {
      const extra = (k.scopes ?? []).filter((s) => !(PUBLISHABLE_SCOPES as readonly string[]).includes(s));
      if (extra.length)
        ctx.addIssue({ code: "custom", path: ["scopes"], message: `publishable keys carry only ${PUBLISHABLE_SCOPES.join(" and ")}; not ${extra.join(", ")}` });
      if (!k.deployment_id)
        ctx.addIssue({ code: "custom", path: ["deployment_id"], message: "a publishable key needs the deployment_id of a public deployment" });
    }
  });
export type CreateApiKeyRequest = z.infer<typeof CreateApiKeyRequest>;

/** `overlap_seconds`: how long the old key keeps working after the new one exists (0 = not at all). */
export const RotateApiKeyRequest = z.strictObject({
  overlap_seconds: z.number().int().min(0).max(604_800).default(0),
});
export type RotateApiKeyRequest = z.infer<typeof RotateApiKeyRequest>;

/** PATCH a tenant: any field; `null` clears `budget` or `daily_cost_alert_usd`. */
export const UpdateTenantRequest = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  timezone: z.string().min(1).max(64).refine(isValidTimeZone, "timezone must be an IANA time zone such as Europe/Berlin").optional(),
  billing_mode: z.enum(["postpaid", "prepaid"]).optional(),
  budget: Budget.nullable().optional(),
  daily_cost_alert_usd: z.number().positive().max(1e9).nullable().optional(),
});
export type UpdateTenantRequest = z.infer<typeof UpdateTenantRequest>;

function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
