export * from "./types";
export * from "./simulated";
export * from "./openai";
export * from "./anthropic";
export * from "./gemini";
export * from "./catalog";
export * from "./registry";
