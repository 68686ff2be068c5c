import { runCli } from "./cli";

// The composition root: the only place that reads the process's environment and streams.
runCli(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`switchyard: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);
