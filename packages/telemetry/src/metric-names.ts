/** Prometheus metric names (DESIGN.md "Observability"), in one place. */
export const MetricNames = {
  queueDepth: "ai_queue_depth_total",
  queueEnqueue: "ai_queue_enqueue_total",
  queueDequeue: "ai_queue_dequeue_total",
  queueWorkers: "ai_queue_workers",
  /** Fair scheduling (issue 18): a route job's wait from creation to its first start, by `tenant_class` and `priority`. */
  queueWait: "ai_queue_wait_seconds",
  /** Jobs waiting in the fair lists, the top 10 tenants by count and the rest under `tenant="other"`. */
  queueTenantDepth: "ai_queue_tenant_depth",
  /** Fair-list entries handed on by the dispatchers, by `result` (dispatched, expired, recovered). */
  fairDispatch: "ai_fair_dispatch_total",
  httpRequests: "http_requests_total",
  httpRequestDuration: "http_request_duration_seconds",
  jobTtft: "ai_job_ttft_seconds",
  jobDuration: "ai_job_duration_seconds",
  tokens: "ai_tokens_total",
  cost: "ai_cost_usd_total",
  modelSelected: "ai_model_selected_total",
  fallback: "ai_fallback_total",
  ragRequests: "ai_rag_requests_total",
  streamStalls: "ai_stream_stalls_total",
  circuitBreakerState: "circuit_breaker_state",
  /** Event-loop delay since the previous scrape, by `quantile` (`0.5`, `0.99`, `max`); every process. */
  eventLoopLag: "nodejs_eventloop_lag_seconds",
  sseConnections: "ai_sse_connections",
  /** The gateway's SSE hub (issue 14): jobs followed, notices and stream reads, events handed on, re-reads, lag. */
  sseFollowedJobs: "ai_sse_followed_jobs",
  dbPoolConnections: "db_pool_connections",
  dbPoolWaiting: "db_pool_waiting_requests",
  dbPoolMax: "db_pool_max_connections",
  sseNoticesRead: "ai_sse_notices_read_total",
  sseStreamReads: "ai_sse_stream_reads_total",
  sseEventsDelivered: "ai_sse_events_delivered_total",
  sseResyncs: "ai_sse_resyncs_total",
  sseSlowCut: "ai_sse_slow_followers_cut_total",
  sseDeliveryLag: "ai_sse_delivery_lag_seconds",
  budgetUsedRatio: "budget_used_ratio",
  rateLimitRejections: "rate_limit_rejections_total",
  rateLimitByDeployment: "rate_limit_rejections_by_deployment_total",
  budgetRefusals: "ai_budget_refusals_total",
  authFailures: "ai_auth_failures_total",
  usageRowsInserted: "ai_usage_rows_inserted_total",
  usageDuplicates: "ai_usage_duplicates_total",
  /** Usage events set aside in `usage_dead_letters`, by `reason` (`data_error`, `invalid_payload`). */
  usageDeadLetters: "ai_usage_dead_letter_total",
  jobsFinished: "ai_jobs_finished_total",
  /** Deliveries that parked a job to wait for its upstream, by `reason` (breaker_open, rate_limited_upstream, capacity). */
  jobWaits: "ai_job_waits_total",
  /** Multi-model comparisons admitted, by `models` (the compared ids joined). */
  compareJobs: "ai_compare_jobs_total",
  /** Alerts recorded, by `kind` and `threshold` (once per alert, not per webhook attempt). */
  budgetAlerts: "budget_alerts_total",
  /** Alert webhook POSTs, by `result` (`ok`, `error`). */
  alertWebhookDeliveries: "alert_webhook_deliveries_total",
} as const;

/** Span/log attribute names (dotted). */
export const AttrNames = {
  jobId: "switchyard.job.id",
  tenantId: "switchyard.tenant.id",
  deploymentId: "switchyard.deployment.id",
  model: "switchyard.model",
  servedModel: "switchyard.served_model",
  attempt: "switchyard.attempt",
  queue: "messaging.destination.name",
} as const;
