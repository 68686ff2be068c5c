export * from "./common";
export * from "./days";
export * from "./admin-tenants";
export * from "./admin-ops";
export * from "./admin-overview";
export * from "./tenant-api";
export * from "./route-contract";
export * from "./routes";
export { ModelList } from "./openai-routes";
