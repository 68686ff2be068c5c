import type { Command } from "../command";
import { audit } from "./audit";
import { backup, restore } from "./backup";
import { batches } from "./batches";
import { breakers } from "./breakers";
import { credits } from "./credits";
import { deadLetters } from "./dead-letters";
import { deployments } from "./deployments";
import { endUsers } from "./end-users";
import { jobs } from "./jobs";
import { keys } from "./keys";
import { maintenance } from "./maintenance";
import { migrate } from "./migrate";
import { queues } from "./queues";
import { reports } from "./reports";
import { tenants } from "./tenants";
import { usage } from "./usage";

/** Every `switchyard` command by name: add a file under `src/commands/` and one line here. */
export const commands: Readonly<Record<string, Command>> = {
  migrate,
  reports,
  tenants,
  deployments,
  "end-users": endUsers,
  jobs,
  batches,
  keys,
  credits,
  breakers,
  queues,
  "dead-letters": deadLetters,
  audit,
  usage,
  maintenance,
  backup,
  restore,
};
