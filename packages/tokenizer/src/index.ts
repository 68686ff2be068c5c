export * from "./o200k-count";
export * from "./cl100k-decode";
