export * from "./classify";
export * from "./routing-error";
export * from "./routing-policy";
export * from "./circuit-breaker";
