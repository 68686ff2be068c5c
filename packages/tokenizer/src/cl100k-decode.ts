/** Tokens in cl100k_base (ranks 0 … 100 255, then the special tokens up to 100 276). */
export const CL100K_VOCAB_SIZE = 100_277;

type Decode = (tokens: readonly number[]) => string;
let decoder: Promise<Decode> | undefined;

/**
 * Text of cl100k_base token ids: what OpenAI's embedding models (text-embedding-3-*, ada-002)
 * take, and what clients such as LangChain's `OpenAIEmbeddings` send as `input` after counting
 * with tiktoken. The rank table is loaded on first use only (a gateway that never sees token
 * arrays never pays for it). Ids must be integers in `[0, CL100K_VOCAB_SIZE)`: check before.
 */
export async function decodeCl100k(tokens: readonly number[]): Promise<string> {
  decoder ??= import("gpt-tokenizer/encoding/cl100k_base").then((m) => (t: readonly number[]) => m.decode(t as number[]));
  return (await decoder)(tokens);
}
