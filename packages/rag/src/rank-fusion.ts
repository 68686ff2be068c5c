/** Default `k` of reciprocal rank fusion (Cormack, Clarke & Büttcher 2009). */
export const RRF_K = 60;

/** One id's fused result: its score and its 1-based rank in each input list (undefined where absent). */
export interface FusedItem {
  id: string;
  score: number;
  ranks: Array<number | undefined>;
}

/**
 * Reciprocal rank fusion: each id scores Σ 1 / (k + rank) over the lists it appears in. Only
 * ranks count, so scores of different kinds (ts_rank_cd, cosine similarity) need no scaling.
 * Ties go to the better best rank, then to the earlier list, then to the id, so the order is
 * deterministic. A list's repeated id keeps its first rank.
 */
export function reciprocalRankFusion(lists: ReadonlyArray<readonly string[]>, k = RRF_K): FusedItem[] {
  const items = new Map<string, FusedItem>();
  lists.forEach((list, li) => {
    list.forEach((id, i) => {
      let item = items.get(id);
      if (!item) {
        item = { id, score: 0, ranks: lists.map(() => undefined) };
        items.set(id, item);
      }
      if (item.ranks[li] !== undefined) return;
      item.ranks[li] = i + 1;
      item.score += 1 / (k + i + 1);
    });
  });
  const best = (it: FusedItem): [number, number] => {
    let rank = Infinity;
    let list = Infinity;
    it.ranks.forEach((r, li) => {
      if (r !== undefined && r < rank) [rank, list] = [r, li];
    });
    return [rank, list];
  };
  return [...items.values()].sort((a, b) => {
    if (b.score !== a.score) return b.score - a.score;
    const [ra, la] = best(a);
    const [rb, lb] = best(b);
    return ra - rb || la - lb || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  });
}
