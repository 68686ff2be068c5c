// The lint gate (`pnpm lint`, run by .ci/run before the tests; the tree is clean under it): ESLint with typescript-eslint's
// type-aware rules over every package, app, script and bench (one TypeScript program per
// tsconfig, found by the project service).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**",
      "**/dist/**",
      "**/.data/**",
      "bench/out/**",
      "**/coverage/**",
      ".ci/.node/**",
      "test-artifacts/**",
      "**/*.js",
      "**/*.mjs",
      "**/*.cjs",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // A promise nobody awaits or handles, or one handed where a callback's result is ignored
      // (an express handler, an event listener), loses its rejection.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      // Off: an `async` function without `await` is how this code turns a throw into a rejection
      // (express 5 handlers, interfaces that return promises); removing `async` would change that.
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    // Tests, their helpers and the benches read JSON answers as loosely typed records on purpose
    // (`Record<string, any>`): asserting on them is the test.
    files: ["**/*.test.ts", "**/__tests__/**", "**/*.test-helpers.ts", "**/*.fixture.ts", "packages/testkit/**", "bench/**", "packages/cli/src/fake-fetch.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
);
