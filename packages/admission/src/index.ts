export * from "./token-count";
export * from "./rate-limit-headers";
export * from "./rate-limiter";
export * from "./budget-ledger";
export * from "./budget-period";
export * from "./alerts";
export * from "./budget-used-ratios";
