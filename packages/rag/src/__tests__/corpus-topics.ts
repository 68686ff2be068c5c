import { TOPICS_A } from "./corpus-topics-a";
import { TOPICS_B } from "./corpus-topics-b";

/**
 * Topics of the labelled retrieval corpus: two documents per topic (siblings share the topic's
 * vocabulary, which makes telling them apart the hard part), each with its distinctive words, a
 * reference code, and a hand-written paraphrased question whose words only partly occur in it.
 * The topics themselves are in corpus-topics-a.ts and corpus-topics-b.ts.
 */
export interface DocSpec {
  title: string;
  /** Distinctive words, used in the document's sentences and in keyword queries. */
  terms: string[];
  /** A question as a user would ask it: few of the document's own words. */
  paraphrase: string;
}

export interface TopicSpec {
  code: string;
  /** Words both documents of the topic use. */
  shared: string[];
  docs: [DocSpec, DocSpec];
}

export const TOPICS: TopicSpec[] = [...TOPICS_A, ...TOPICS_B];
