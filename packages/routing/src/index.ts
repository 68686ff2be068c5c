export * from "./classify";
export * from "./routing-error";
export * from "./routing-policy";
export * from "./circuit-breaker";
export * from "./breaker-gauge";
export * from "./process-metrics";
