import type { Command } from "../command";
import { migrate } from "./migrate";
import { reports } from "./reports";

/** Every `switchyard` command by name: add a file under `src/commands/` and one line here. */
export const commands: Readonly<Record<string, Command>> = {
  migrate,
  reports,
};
