export * from "./o200k-count";
