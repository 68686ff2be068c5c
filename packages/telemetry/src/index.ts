export * from "./metric-names";
export * from "./metrics";
export * from "./logger";
export * from "./tracing";
export * from "./metrics-server";
export * from "./tracing-sdk";
export * from "./ops-metrics";
export * from "./log-context";
