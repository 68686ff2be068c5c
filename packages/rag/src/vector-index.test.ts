import { graphKindFor } from "./vector-index";

describe("graphKindFor", () => {
  const postgres = "PostgreSQL 15.19 (Debian 15.19-0+deb12u1) on x86_64-pc-linux-gnu, compiled by gcc 12.2.0, 64-bit";
  const pglite = "PostgreSQL 18.6 (PGlite 0.5.14) on wasm32-unknown-emscripten, compiled by emcc 6.0.5, 32-bit";

  it("builds over halfvec on PostgreSQL with pgvector 0.7.0 or later", () => {
    for (const v of ["0.7.0", "0.8.6", "0.10.1", "1.0.0"]) expect([v, graphKindFor(postgres, v)]).toEqual([v, "halfvec"]);
  });

  it("keeps vector where pgvector has no halfvec (before 0.7.0) or is unknown", () => {
    for (const v of ["0.5.1", "0.6.2", null]) expect([v, graphKindFor(postgres, v)]).toEqual([v, "vector"]);
  });

  it("keeps vector on PGlite, whatever its pgvector", () => {
    expect(graphKindFor(pglite, "0.8.0")).toBe("vector");
  });
});
