/** Two projects: unit tests next to the code, integration tests (real Redis, Postgres, HTTP, child processes). */
const transform = { "^.+\\.(t|j)sx?$": ["@swc/jest", { jsc: { target: "es2022" }, module: { type: "commonjs" } }] };
const common = { transform, testEnvironment: "node", moduleFileExtensions: ["ts", "js", "json"] };
module.exports = {
  // Project-level testTimeout is ignored by jest 30; integration tests need the long one.
  testTimeout: 120000,
  projects: [
    {
      ...common,
      displayName: "unit",
      testMatch: ["<rootDir>/{apps,packages,scripts}/**/*.test.ts"],
      testPathIgnorePatterns: ["\\.int\\.test\\.ts$", "/node_modules/"],
    },
    { ...common, displayName: "integration", testMatch: ["<rootDir>/{apps,packages,scripts}/**/*.int.test.ts"], slowTestThreshold: 60 },
  ],
};
