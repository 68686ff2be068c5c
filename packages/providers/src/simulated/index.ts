export { createSimulatedProvider, type SimulatedProviderOptions } from "./chat";
export { simulatedDeltas, estimateInputTokens, SIMULATED_MAX_NATURAL_TOKENS } from "./text";
export { simulatedUnsupportedFields, valueForSchema } from "./tools";
