/*
 * The Files API suite (files-api.int.test.ts) once more with FILE_STORE=s3: the gateway keeps file
 * bytes in an S3-compatible bucket (S3FileContents) served by testkit's fake S3, which recomputes
 * every request's SigV4 signature from the secret and speaks S3's wire format (ETag, NoSuchKey XML).
 */
import "./s3-file-store-env";
import "./files-api.int.test";
