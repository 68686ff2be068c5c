export * from "./types";
export * from "./simulated";
export * from "./openai";
export * from "./catalog";
export * from "./registry";
