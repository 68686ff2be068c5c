import { runCli } from "../cli";
import { fakeFetch, type FakeAnswer, type SeenRequest } from "../fake-fetch";

/** Run `switchyard <args>` against a fake gateway; the env has a key unless `env` says otherwise. */
export async function runAdmin(
  args: string[],
  answer?: (req: SeenRequest) => FakeAnswer,
  env: Record<string, string | undefined> = { SWITCHYARD_ADMIN_KEY: "sy_live_admin_secret" },
) {
  let out = "";
  let err = "";
  const fetch = fakeFetch(answer);
  const code = await runCli(args, { env, fetch, stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: (s: string) => ((err += s), true) } });
  return { code, out, err, requests: fetch.requests };
}
