import type { ColumnType, Generated, JSONColumnType } from "kysely";

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T extends object | null> = JSONColumnType<T, string, string>;
/** A JSON column with a database default (may be left out of an insert). */
type JsonOpt<T extends object | null> = ColumnType<T, string | undefined, string>;

export interface TenantsTable {
  id: string;
  name: string;
  timezone: string;
  billing_mode: "postpaid" | "prepaid";
  budget: JsonOpt<Record<string, unknown> | null>;
  daily_cost_alert_usd: ColumnType<string | null, number | string | null | undefined, number | string | null>;
  created_at: Timestamp;
}

export interface DeploymentsTable {
  id: string;
  tenant_id: string;
  name: string;
  type: "public" | "internal" | "hybrid";
  is_default: boolean;
  features: Json<Record<string, boolean>>;
  rate_limits: Json<Record<string, number>>;
  budget: Json<Record<string, unknown> | null>;
  model_preference: string | null;
  allowed_models: JsonOpt<string[] | null>;
  allowed_origins: Json<string[]>;
  allowed_source_domains: Json<string[]>;
  /** Share in the weighted round robin across tenants, 1–100 (migration 0020). */
  queue_weight: ColumnType<number, number | undefined, number>;
  /** Most of its jobs running at once across all workers; null is unlimited (migration 0020). */
  max_concurrent_jobs: ColumnType<number | null, number | null | undefined, number | null>;
  /** Longest a job may wait before a worker begins it; null sets none (migration 0020). */
  max_queue_ms: ColumnType<number | null, number | null | undefined, number | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  deployment_id: string | null;
  name: string;
  kind: "secret" | "publishable";
  /** sha256 of the secret part, hex. The key itself is never stored. */
  secret_hash: string;
  scopes: Json<string[]>;
  expires_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
  replaced_by: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Timestamp;
}

export interface EndUsersTable {
  deployment_id: string;
  user_id: string;
  tier: "free" | "paid";
  updated_at: Timestamp;
}

export interface CreditLedgerTable {
  id: Generated<string>;
  tenant_id: string;
  amount_usd: ColumnType<string, number | string, number | string>;
  kind: "grant" | "debit" | "adjustment";
  reason: string;
  idempotency_key: string;
  job_id: string | null;
  actor_key_id: string | null;
  created_at: Timestamp;
}

export interface CreditBalancesTable {
  tenant_id: string;
  balance_usd: ColumnType<string, number | string, number | string>;
  entries: ColumnType<string, number, number>;
  updated_at: Timestamp;
}

export interface AuditLogTable {
  id: Generated<string>;
  actor_key_id: string | null;
  tenant_id: string | null;
  action: string;
  target_type: string;
  target_id: string;
  before: Json<object> | null;
  after: Json<object> | null;
  created_at: Timestamp;
}

export interface JobsTable {
  id: string;
  tenant_id: string;
  deployment_id: string;
  api_key_id: string | null;
  status: string;
  model: string;
  served_model: string | null;
  output: Json<object> | null;
  usage: Json<object> | null;
  routing: Json<object>;
  error: Json<object> | null;
  metadata: Json<object> | null;
  /** `{runs, waits}`; null for jobs stored before it was kept. */
  attempts: Json<object> | null;
  created_at: Timestamp;
  started_at: NullableTimestamp;
  completed_at: NullableTimestamp;
}

export interface JobFeedbackTable {
  job_id: string;
  tenant_id: string;
  deployment_id: string;
  api_key_id: string | null;
  rating: number;
  comment: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface UsageEventsTable {
  job_id: string;
  attempt: number;
  tenant_id: string;
  deployment_id: string;
  api_key_id: string | null;
  /** The request's end user (`user`); null when it named none, and for events stored before migration 0014. */
  end_user: string | null;
  /** The batch whose line this job was (priced at the batch price); null otherwise, and for events stored before migration 0017. */
  batch_id: ColumnType<string | null, string | null | undefined, string | null>;
  requested_model: string;
  served_model: string;
  provider: string;
  status: string;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  /** numeric(18,9); pg returns numerics as strings. */
  cost_usd: ColumnType<string, number | string, number | string>;
  provenance: string;
  ttft_ms: number | null;
  latency_ms: number;
  fallbacks: number;
  features: Json<string[]>;
  rag: Json<object> | null;
  occurred_at: Timestamp;
  inserted_at: Timestamp;
}

export interface UsageDailyTable {
  tenant_id: string;
  deployment_id: string;
  model: string;
  day: ColumnType<string, string, string>;
  requests: ColumnType<string, number, number>;
  errors: ColumnType<string, number, number>;
  input_tokens: ColumnType<string, number, number>;
  output_tokens: ColumnType<string, number, number>;
  cost_usd: ColumnType<string, number | string, number | string>;
}

/** Usage of the events that name an end user, per (tenant, end user, UTC day, deployment): migration 0014. */
export interface UsageDailyEndUsersTable {
  tenant_id: string;
  end_user: string;
  day: ColumnType<string, string, string>;
  deployment_id: string;
  requests: ColumnType<string, number, number>;
  errors: ColumnType<string, number, number>;
  input_tokens: ColumnType<string, number, number>;
  output_tokens: ColumnType<string, number, number>;
  cost_usd: ColumnType<string, number | string, number | string>;
}

export interface DailyReportsTable {
  tenant_id: string;
  date: ColumnType<string, string, string>;
  report: JSONColumnType<Record<string, unknown>, string, string>;
  generated_at: Timestamp;
}

export interface AlertEventsTable {
  id: Generated<string>;
  tenant_id: string;
  kind: string;
  subject: string;
  period: string;
  threshold: number;
  payload: JSONColumnType<Record<string, unknown>, string, string>;
  fired_at: Timestamp;
}

/** A document of a tenant's collection; its chunks are rebuilt whenever `content_hash` changes. */
export interface DocumentsTable {
  tenant_id: string;
  collection: string;
  id: string;
  title: string;
  source_url: string | null;
  /** Lower-cased host of `source_url`, for the deployment's source-domain allow-list. */
  source_domain: string | null;
  metadata: JsonOpt<Record<string, unknown>>;
  text: string;
  status: ColumnType<
    "pending" | "indexing" | "indexed" | "failed",
    "pending" | "indexing" | "indexed" | "failed" | undefined,
    "pending" | "indexing" | "indexed" | "failed"
  >;
  error: string | null;
  /** sha256 of what the chunks are built from (title, text, source_url). */
  content_hash: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  indexed_at: NullableTimestamp;
}

/**
 * One retrievable piece of a document. `embedding` is pgvector `vector` (read as its text form
 * "[…]") when the server has the extension, else `real[]` (read as a number array); writes go
 * through SQL casts, so they are typed as that text form.
 */
export interface ChunksTable {
  id: string;
  tenant_id: string;
  collection: string;
  document_id: string;
  ordinal: number;
  title: string | null;
  source_url: string | null;
  source_domain: string | null;
  text: string;
  tokens: number;
  embedding_model: string;
  embedding: ColumnType<string | number[] | null, string | null, string | null>;
  /** Generated from title and text; never written. */
  tsv: ColumnType<string, never, never>;
  created_at: Timestamp;
}

/** A usage event the ledger could not store (migration 0005); `event` is the payload as received, JSON text. */
export interface UsageDeadLettersTable {
  id: Generated<string>;
  job_id: string;
  attempt: number;
  tenant_id: string | null;
  /** The BullMQ job that carried the event. */
  queue_job_id: string | null;
  /** `data_error`: Postgres (or a ledger check) refused the event; `invalid_payload`: it did not parse as a usage event. */
  reason: "data_error" | "invalid_payload";
  event: string;
  error: string;
  /** Postgres SQLSTATE of the refusal, when Postgres refused it. */
  sqlstate: string | null;
  /** How many times the event was set aside (a replayed event that fails again comes back here). */
  failures: ColumnType<number, number | undefined, number>;
  created_at: Timestamp;
  replayed_at: NullableTimestamp;
}

/** A stored `/v1/responses` response (migration 0006), 1:1 with its job; JSON columns hold contracts' StoredResponse parts. */
export interface ResponsesTable {
  id: string;
  job_id: string;
  tenant_id: string;
  api_key_id: string | null;
  background: boolean;
  store: boolean;
  previous_response_id: string | null;
  params: Json<Record<string, unknown>>;
  input_items: Json<unknown[]>;
  final: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  created_at: Timestamp;
}

/** A file of `/v1/files` (migration 0015); `storage` names where its bytes live (`postgres`: `file_chunks`). */
export interface FilesTable {
  id: string;
  tenant_id: string;
  api_key_id: string | null;
  purpose: string;
  filename: string;
  /** bigint: pg returns it as a string. */
  bytes: ColumnType<string, number, never>;
  line_count: number | null;
  /** `uploaded` while its bytes are being written, `processed` once readable. */
  status: "uploaded" | "processed";
  storage: string;
  created_at: Timestamp;
  /** When the file stops being served and is swept (migration 0021); null: never. */
  expires_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

/** Up to 1 MiB of a file's bytes, in order by `seq` (migration 0015). */
export interface FileChunksTable {
  file_id: string;
  seq: number;
  data: Buffer;
}

/** A batch of `/v1/batches` (migration 0016): OpenAI's status and times, the runner's lease. */
export interface BatchesTable {
  id: string;
  tenant_id: string;
  deployment_id: string;
  api_key_id: string;
  endpoint: string;
  input_file_id: string;
  completion_window: string;
  metadata: ColumnType<Record<string, string> | null, string | null, string | null>;
  status: "validating" | "in_progress" | "finalizing" | "completed" | "failed" | "expired" | "cancelling" | "cancelled";
  /** `{object: "list", data: [{code, message, param, line}]}` when the batch failed as a whole. */
  errors: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  output_file_id: string | null;
  error_file_id: string | null;
  total: ColumnType<number, number | undefined, number>;
  completed: ColumnType<number, number | undefined, number>;
  failed: ColumnType<number, number | undefined, number>;
  created_at: Timestamp;
  expires_at: Timestamp;
  in_progress_at: NullableTimestamp;
  finalizing_at: NullableTimestamp;
  completed_at: NullableTimestamp;
  failed_at: NullableTimestamp;
  expired_at: NullableTimestamp;
  cancelling_at: NullableTimestamp;
  cancelled_at: NullableTimestamp;
  lease_owner: string | null;
  lease_until: NullableTimestamp;
  /** Why an `in_progress` batch admits no lines for now (`budget_exhausted` | `credits_exhausted`); null when it runs (migration 0017). */
  paused_reason: ColumnType<string | null, string | null | undefined, string | null>;
  paused_at: NullableTimestamp;
  /** The model of the batch's lines, set when it is validated (migration 0021). */
  model: ColumnType<string | null, string | null | undefined, string | null>;
  /** `output_expires_after.seconds` of the batch's create request; null: its files never expire (migration 0021). */
  output_expires_seconds: ColumnType<number | null, number | null | undefined, number | null>;
}

/** One input line of a batch (migration 0016): its request, state, job and, once settled, its output or error line. */
export interface BatchLinesTable {
  batch_id: string;
  line: number;
  custom_id: string | null;
  request: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  state: "pending" | "invalid" | "submitted" | "done" | "failed" | "canceled" | "expired";
  job_id: string | null;
  result: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  /** Times the line went back to pending after its job was refused for budget (migration 0019); part of its idempotency key. */
  admissions: ColumnType<number, number | undefined, number>;
}

export interface Database {
  tenants: TenantsTable;
  deployments: DeploymentsTable;
  api_keys: ApiKeysTable;
  audit_log: AuditLogTable;
  jobs: JobsTable;
  usage_events: UsageEventsTable;
  job_feedback: JobFeedbackTable;
  usage_daily: UsageDailyTable;
  usage_daily_end_users: UsageDailyEndUsersTable;
  end_users: EndUsersTable;
  credit_ledger: CreditLedgerTable;
  credit_balances: CreditBalancesTable;
  daily_reports: DailyReportsTable;
  alert_events: AlertEventsTable;
  documents: DocumentsTable;
  chunks: ChunksTable;
  usage_dead_letters: UsageDeadLettersTable;
  responses: ResponsesTable;
  files: FilesTable;
  file_chunks: FileChunksTable;
  batches: BatchesTable;
  batch_lines: BatchLinesTable;
}
