/**
 * `pnpm build`: compiles each app, with the workspace packages it uses, to one JavaScript bundle
 * `apps/<app>/dist/main.js` (esbuild; `node_modules` packages stay imports), which production runs
 * with `node apps/<app>/dist/main.js`, and the images' database setup to `infra/dist/migrate.js`. Type checking is `pnpm typecheck` (tsc), not this.
 * `--if-stale`: build only when a source is newer than a bundle (what `pnpm start` does).
 */
import { APPS, buildApp, buildMigrate, bundlesStale } from "./lib/build-apps";

async function main(): Promise<void> {
  if (process.argv.includes("--if-stale") && !bundlesStale()) return;
  const started = Date.now();
  for (const app of APPS) {
    const { bytes } = await buildApp(app);
    console.log(`built apps/${app}/dist/main.js (${(bytes / 1024).toFixed(0)} KiB with its worker files)`);
  }
  const { bytes } = await buildMigrate();
  console.log(`built infra/dist/migrate.js (${(bytes / 1024).toFixed(0)} KiB)`);
  console.log(`build done in ${Date.now() - started} ms`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
