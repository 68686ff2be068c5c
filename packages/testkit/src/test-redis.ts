import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** A key prefix of one test file's own, so files running in parallel never share a key. */
export function testPrefix(label = "t"): string {
  return `sytest-${label}-${randomBytes(4).toString("hex")}`;
}

/** Delete every key under a prefix (`{prefix}:…`). */
export async function cleanupPrefix(prefix: string, url = TEST_REDIS_URL): Promise<number> {
  const r = new Redis(url);
  let deleted = 0;
  try {
    let cursor = "0";
    do {
      const [next, keys] = await r.scan(cursor, "MATCH", `{${prefix}}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) deleted += await r.del(...keys);
    } while (cursor !== "0");
  } finally {
    r.disconnect();
  }
  return deleted;
}
