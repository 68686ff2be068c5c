import { pathToFileURL } from "node:url";

/**
 * Command line that runs a TypeScript file in this Node binary with tsx's loader
 * (`node --import <tsx> file`). One process, so its pid is the program's own and signals reach it
 * directly (the `tsx` CLI would put a wrapper process in between).
 */
export function tsxCommand(file: string): { command: string; args: string[] } {
  const loader = pathToFileURL(require.resolve("tsx")).href;
  return { command: process.execPath, args: ["--import", loader, file] };
}

/** Command line for an app's entry: a compiled `.js` bundle runs in plain Node (with its source maps), a `.ts` file through tsx. */
export function appCommand(file: string): { command: string; args: string[] } {
  return file.endsWith(".js") ? { command: process.execPath, args: ["--enable-source-maps", file] } : tsxCommand(file);
}
