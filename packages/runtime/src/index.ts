export * from "./run-app";
export * from "./app-process";
export * from "./process-env";
export * from "./closer-stack";
export * from "./process-metrics";
export * from "./breaker-gauge";
export * from "./log-scrubber";
