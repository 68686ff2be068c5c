import type { Database } from "@switchyard/db";
import type { Kysely } from "kysely";
import type { Embedder } from "../embedder";
import { retrieve, type RetrievalMode } from "../retrieve";
import { TOPICS } from "./corpus-topics";

/** A generated document with its source. */
export interface CorpusDoc {
  id: string;
  title: string;
  text: string;
  sourceUrl: string;
  topic: string;
}

/** keyword: words that all occur in the document; paraphrase: a user's question; identifier: the document's reference code. */
export type QueryKind = "keyword" | "paraphrase" | "identifier";

/** A query and the documents that answer it. */
export interface LabeledQuery {
  query: string;
  relevant: string[];
  kind: QueryKind;
}

/** Small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

const TEMPLATES: Array<(a: string, b: string, s: string) => string> = [
  (a, b, s) => `The ${a} depends on the ${b}, which matters for every ${s}.`,
  (a, b) => `Most people check the ${a} before they touch the ${b}.`,
  (a, b, s) => `A common mistake with ${s} is to confuse the ${a} with the ${b}.`,
  (a, b) => `If the ${a} looks wrong, look at the ${b} first.`,
  (a, b) => `Good results come from a steady ${a} and a careful ${b}.`,
  (a, b, s) => `Experienced ${s} people adjust the ${a} whenever the ${b} changes.`,
  (a, b) => `Write down how the ${a} and the ${b} behave over a week.`,
  (a, b) => `Beginners often skip the ${a}, but the ${b} shows the difference.`,
];

/** Sentences every kind of document has; they make the shared, uninformative part of the vocabulary. */
const FILLER = [
  "This page was last reviewed by the documentation team.",
  "Contact support if the steps below do not help.",
  "Results vary, so start small and keep notes.",
  "Nothing here replaces advice from a qualified professional.",
  "Read the whole section once before you begin.",
  "Many readers asked for a shorter summary, so here it is.",
  "The steps take about an hour the first time.",
  "Prices and availability change, check before buying anything.",
  "Safety comes first, so wear the right protection.",
  "A checklist at the end sums up the important points.",
  "Questions from readers are answered in the comments below.",
  "Some details differ by region and season.",
];

const DOMAINS = ["docs.example.com", "wiki.example.org", "blog.other.net"];

/** The reference code that only document `docIndex` of a topic mentions. */
export const refCode = (topic: string, docIndex: number): string => `${topic}-${101 + docIndex * 111}`;

/**
 * The labelled corpus: 60 documents (30 topics × 2, ~290 chunks at 60 tokens) and 240 queries,
 * four per document: two keyword queries (words that occur together in one sentence of it), its
 * paraphrased question, and its reference code. Each query's one relevant document is the one
 * it was made from. Deterministic for a seed.
 */
export function buildCorpus(seed = 7): { docs: CorpusDoc[]; queries: LabeledQuery[] } {
  const r = rng(seed);
  const docs: CorpusDoc[] = [];
  const queries: LabeledQuery[] = [];
  for (const topic of TOPICS) {
    topic.docs.forEach((spec, di) => {
      const id = `${topic.code.toLowerCase()}-${di}`;
      const t = spec.terms;
      const sentences = [`${spec.title}. This guide covers the ${t[0]} and the ${t[1]} for anyone into ${topic.shared[0]}.`];
      for (let i = 0; i < t.length; i++) sentences.push(pick(r, TEMPLATES)(t[i]!, t[(i + 1) % t.length]!, pick(r, topic.shared)));
      sentences.push(`Internal reference ${refCode(topic.code, di)} tracks revisions of the notes on the ${t[2]}.`);
      for (let i = 0; i < 4; i++) sentences.splice(1 + Math.floor(r() * sentences.length), 0, pick(r, FILLER));
      const third = Math.ceil(sentences.length / 3);
      const text = [0, 1, 2].map((p) => sentences.slice(p * third, (p + 1) * third).join(" ")).join("\n\n");
      docs.push({
        id,
        title: spec.title,
        text,
        sourceUrl: `https://${DOMAINS[docs.length % DOMAINS.length]}/${topic.code.toLowerCase()}/${di}`,
        topic: topic.code,
      });
      const a = Math.floor(r() * t.length);
      queries.push({ query: `${t[a]} ${t[(a + 1) % t.length]}`, relevant: [id], kind: "keyword" });
      queries.push({ query: `${pick(r, topic.shared)} ${t[(a + 4) % t.length]}`, relevant: [id], kind: "keyword" });
      queries.push({ query: spec.paraphrase, relevant: [id], kind: "paraphrase" });
      queries.push({ query: refCode(topic.code, di), relevant: [id], kind: "identifier" });
    });
  }
  return { docs, queries };
}

/** recall@k over the queries (a query scores the share of its relevant documents among the top k chunks' documents), overall and by kind. */
export interface RecallReport {
  mode: RetrievalMode;
  recall: number;
  byKind: Record<QueryKind, number>;
}

/** Runs every query in one mode and measures recall@k. */
export async function measureRecall(
  db: Kysely<Database>,
  scope: { tenantId: string; collection: string; embedder: Embedder },
  queries: readonly LabeledQuery[],
  mode: RetrievalMode,
  k = 5,
): Promise<RecallReport> {
  const sums: Record<QueryKind, [number, number]> = { keyword: [0, 0], paraphrase: [0, 0], identifier: [0, 0] };
  for (const q of queries) {
    const { results } = await retrieve(db, { ...scope, query: q.query, topK: k, mode });
    const got = new Set(results.map((x) => x.document_id));
    const s = sums[q.kind];
    s[0] += q.relevant.filter((d) => got.has(d)).length / q.relevant.length;
    s[1] += 1;
  }
  const ratio = ([hit, n]: [number, number]) => (n === 0 ? 0 : hit / n);
  const total = Object.values(sums).reduce<[number, number]>((acc, [h, n]) => [acc[0] + h, acc[1] + n], [0, 0]);
  return { mode, recall: ratio(total), byKind: { keyword: ratio(sums.keyword), paraphrase: ratio(sums.paraphrase), identifier: ratio(sums.identifier) } };
}
