import { build, type BuildOptions, type Metafile, type Plugin } from "esbuild";
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from "node:fs";
import Module, { isBuiltin } from "node:module";
import path from "node:path";
import { repoRoot } from "./paths";

/** The apps `pnpm build` compiles, each from `apps/<name>/src/main.ts` to `apps/<name>/dist/main.js`. */
export const APPS = ["gateway", "router-worker", "rag-worker", "usage-aggregator"] as const;
export type AppName = (typeof APPS)[number];

/** Folders an app reads files from at run time, copied from `apps/<app>/src/<folder>` to `dist/<folder>`. */
const ASSETS: Partial<Record<AppName, string[]>> = { gateway: ["static"] };

/** Files an app's bundle loads by path at run time, built next to its `main.js` (a worker thread's entry). */
const SIDE_ENTRIES = { "token-count-worker": path.join(repoRoot, "packages/admission/src/token-count-worker.ts") };

export const distMain = (app: AppName): string => path.join(repoRoot, "apps", app, "dist", "main.js");

/**
 * Workspace packages (`@switchyard/*`) and the app's own modules are compiled into the bundle;
 * every other package stays an import of `node_modules`, resolved at run time from the app's
 * folder as Node resolves it (so its files, native parts and assets stay where they are).
 */
const externalPackages: Plugin = {
  name: "external-packages",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith("@switchyard/") || path.isAbsolute(args.path) ? undefined : { path: args.path, external: true },
    );
  },
};

/** The package name of a bare import (`@scope/name/sub` → `@scope/name`), or null for `node:` built-ins. */
function packageName(spec: string): string | null {
  if (spec.startsWith("node:")) return null;
  const parts = spec.split("/");
  return spec.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/**
 * Packages the bundle imports that Node cannot find from the app's folder: a workspace package's
 * dependency the app does not declare itself. Such a bundle would fail on its first `require`, so
 * the build stops and names them. Looked up in the `node_modules` folders Node walks from
 * `apps/<app>/dist`, never `NODE_PATH` (pnpm's scripts set it to every hoisted package; production
 * has no such thing).
 */
export function unresolvedImports(outdir: string, meta: Metafile): string[] {
  const dirs: string[] = (Module as unknown as { _nodeModulePaths(from: string): string[] })._nodeModulePaths(outdir);
  const missing = new Set<string>();
  for (const output of Object.values(meta.outputs)) {
    for (const imp of output.imports) {
      if (!imp.external || isBuiltin(imp.path)) continue;
      const name = packageName(imp.path);
      if (name === null || missing.has(name)) continue;
      if (!dirs.some((d) => existsSync(path.join(d, name, "package.json")))) missing.add(name);
    }
  }
  return [...missing].sort();
}

/** What esbuild is told for every bundle: Node 22+, CommonJS, source maps, readable names. */
const COMMON = {
  bundle: true,
  platform: "node",
  target: "node22",
  format: "cjs",
  sourcemap: true,
  minify: false,
  keepNames: true,
  metafile: true,
  logLevel: "warning",
  plugins: [externalPackages],
  write: false,
} satisfies BuildOptions;

/**
 * Bundle `entryPoints` into `outdir`; throws naming any import Node could not resolve from there
 * (`owner`: the package.json that should declare it). Each file is written whole under another
 * name and renamed into place, so an app starting while a build runs (two `pnpm start`s, a test)
 * never loads half a file.
 */
async function bundle(entryPoints: Record<string, string>, outdir: string, owner: string): Promise<{ files: string[]; bytes: number }> {
  const result = await build({ ...COMMON, entryPoints, outdir });
  const missing = unresolvedImports(outdir, result.metafile);
  if (missing.length)
    throw new Error(`${path.relative(repoRoot, outdir)}: the bundle imports ${missing.join(", ")}, which Node cannot find from there: add them to ${owner}`);
  mkdirSync(outdir, { recursive: true });
  for (const f of result.outputFiles) {
    const tmp = `${f.path}.${process.pid}.tmp`;
    writeFileSync(tmp, f.contents);
    renameSync(tmp, f.path);
  }
  const js = result.outputFiles.filter((f) => f.path.endsWith(".js"));
  return { files: js.map((f) => f.path), bytes: js.reduce((n, f) => n + f.contents.byteLength, 0) };
}

/** Bundle one app to `apps/<app>/dist/` (main.js, its worker-thread files and assets). */
export async function buildApp(app: AppName): Promise<{ files: string[]; bytes: number }> {
  const outdir = path.dirname(distMain(app));
  const out = await bundle({ main: path.join(repoRoot, "apps", app, "src", "main.ts"), ...SIDE_ENTRIES }, outdir, `apps/${app}/package.json`);
  for (const folder of ASSETS[app] ?? []) cpSync(path.join(repoRoot, "apps", app, "src", folder), path.join(outdir, folder), { recursive: true });
  return out;
}

/** The one-shot database setup of the images (`infra/migrate.ts`), bundled to `infra/dist/migrate.js`. */
export const MIGRATE_BUNDLE = path.join(repoRoot, "infra", "dist", "migrate.js");

export async function buildMigrate(): Promise<{ files: string[]; bytes: number }> {
  return bundle({ migrate: path.join(repoRoot, "infra", "migrate.ts") }, path.dirname(MIGRATE_BUNDLE), "the root package.json");
}

/** Newest modification time (ms) of the TypeScript sources an app's bundle is built from. */
function newestSource(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === "node_modules" || e.name === "dist" || e.name.startsWith(".")) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|json|html)$/.test(e.name) && !e.name.endsWith(".test.ts")) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const top of ["apps", "packages"]) walk(path.join(repoRoot, top));
  return newest;
}

/** True when some app has no bundle, or a source file (apps, packages) is newer than one. */
export function bundlesStale(): boolean {
  const built = APPS.map((a) => (existsSync(distMain(a)) ? statSync(distMain(a)).mtimeMs : 0));
  return Math.min(...built) < newestSource();
}
