export * from "./fake-openai";
export * from "./test-db";
export * from "./test-redis";
export * from "./net";
export * from "./sse-client";
export * from "./spawn-app";
export * from "./stack";
