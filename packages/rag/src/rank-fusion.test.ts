import { reciprocalRankFusion } from "./rank-fusion";

describe("reciprocalRankFusion", () => {
  it("scores Σ 1/(k + rank) and ranks items found by both lists first", () => {
    const fused = reciprocalRankFusion(
      [
        ["a", "b", "c"],
        ["c", "d", "a"],
      ],
      60,
    );
    expect(fused.map((f) => f.id)).toEqual(["a", "c", "b", "d"]);
    expect(fused[0]).toEqual({ id: "a", score: 1 / 61 + 1 / 63, ranks: [1, 3] });
    expect(fused.find((f) => f.id === "d")!.ranks).toEqual([undefined, 2]);
  });

  it("breaks ties by best rank, then list order, then id; repeated ids keep their first rank", () => {
    expect(
      reciprocalRankFusion([
        ["x", "y"],
        ["z", "w"],
      ]).map((f) => f.id),
    ).toEqual(["x", "z", "y", "w"]);
    expect(reciprocalRankFusion([["a", "a", "b"]]).map((f) => [f.id, f.ranks[0]])).toEqual([
      ["a", 1],
      ["b", 3],
    ]);
  });

  it("is the identity on one list and empty on none", () => {
    expect(reciprocalRankFusion([["p", "q"]]).map((f) => f.id)).toEqual(["p", "q"]);
    expect(reciprocalRankFusion([[], []])).toEqual([]);
  });
});
