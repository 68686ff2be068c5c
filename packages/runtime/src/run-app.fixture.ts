/**
 * Run by run-app.int.test.ts as a child process, as the apps run: `runApp` with a start and a
 * close that print what they do. FIXTURE: `ok` | `fail-start` | `fail-close` | `bad-env`.
 */
import { runApp } from "./run-app";

const mode = process.env.FIXTURE ?? "ok";
const say = (line: string) => process.stdout.write(`${line}\n`);

runApp({
  name: "fixture-app",
  loadEnv: () => {
    if (mode === "bad-env") throw new Error("invalid environment: PORT must be a number");
    return { LOG_LEVEL: "silent" };
  },
  async start() {
    if (mode === "fail-start") throw new Error("redis is not there");
    // Once start has returned and runApp has its signal handlers.
    setTimeout(() => say("started"), 20);
    const part = (name: string, ms: number) => ({
      async close() {
        await new Promise((r) => setTimeout(r, ms));
        if (mode === "fail-close" && name === "b") throw new Error("b would not close");
        say(`closed ${name}`);
      },
    });
    // Something that would keep the process alive if shutdown did not exit.
    setInterval(() => undefined, 1000);
    return [part("a", 50), part("b", 10)];
  },
});
