export { createSimulatedProvider, type SimulatedProviderOptions } from "./chat";
export { createSimulatedEmbedder, simulatedEmbedding, type SimulatedEmbedderOptions } from "./embeddings";
export { simulatedDeltas, estimateInputTokens, seededRandom, SIMULATED_MAX_NATURAL_TOKENS } from "./text";
export { simulatedUnsupportedFields, valueForSchema } from "./tools";
