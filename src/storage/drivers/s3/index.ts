/** The `s3:` driver: a bucket and prefix on S3 or an S3-compatible server. Loaded on first use (the AWS SDK is large). */
export { createS3Storage } from './s3.js';
