import { createLogger } from "@switchyard/telemetry";
import { loadEnv } from "../env";
import { startGateway } from "../server";
import { startBatchRunner } from "../services/batch-runner";

/**
 * A gateway process with a batch runner, for the batch crash test (batches-api.int.test.ts): what
 * main.ts will run once the runner is wired in, with the runner's knobs from the environment
 * (BATCH_POLL_MS, BATCH_SUBMIT_CHUNK, BATCH_LEASE_MS, BATCH_RUNNER_OWNER). Prints `ready <port>`.
 */
async function main(): Promise<void> {
  const env = loadEnv();
  const gw = await startGateway(env, { logger: createLogger({ name: "gateway", level: env.LOG_LEVEL }) });
  const runner = startBatchRunner(gw.resources, {
    pollMs: Number(process.env.BATCH_POLL_MS ?? 1000),
    submitChunk: Number(process.env.BATCH_SUBMIT_CHUNK ?? 50),
    leaseMs: Number(process.env.BATCH_LEASE_MS ?? 30_000),
    owner: process.env.BATCH_RUNNER_OWNER,
  });
  process.stdout.write(`ready ${gw.port}\n`);
  process.once("SIGTERM", () => {
    void runner
      .close()
      .then(() => gw.close(0))
      .then(() => process.exit(0));
  });
}

main().catch((err: Error) => {
  process.stderr.write(`batch runner process failed: ${err.message}\n`);
  process.exit(1);
});
