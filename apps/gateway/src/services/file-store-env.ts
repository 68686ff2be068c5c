import { PostgresFileContents, type Database, type FileContentStore } from "@switchyard/db";
import type { Kysely } from "kysely";
import type { GatewayEnv } from "../env";
import { S3FileContents } from "./s3-file-contents";

/** The Files API's store as FILE_STORE says, chosen once at gateway start (env.ts has checked the S3_* settings). */
export function fileStoreFromEnv(
  env: Pick<GatewayEnv, "FILE_STORE" | "S3_ENDPOINT" | "S3_BUCKET" | "S3_REGION" | "S3_ACCESS_KEY_ID" | "S3_SECRET_ACCESS_KEY">,
  db: Kysely<Database>,
): FileContentStore {
  if (env.FILE_STORE === "postgres") return new PostgresFileContents(db);
  return new S3FileContents({
    endpoint: env.S3_ENDPOINT!,
    bucket: env.S3_BUCKET!,
    region: env.S3_REGION,
    accessKeyId: env.S3_ACCESS_KEY_ID!,
    secretAccessKey: env.S3_SECRET_ACCESS_KEY!,
  });
}
