/** Imported first by `files-api-s3.int.test.ts`: the Files API suite then runs with FILE_STORE=s3 against a fake S3. */
process.env.SWITCHYARD_TEST_FILE_STORE = "s3";
