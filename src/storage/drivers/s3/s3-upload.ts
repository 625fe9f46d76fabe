/**
 * Verified uploads. A single PutObject is whole-or-nothing on S3, but the
 * driver also checks what the server says it stored: the request carries
 * Content-MD5 (the server refuses a body that does not match) and the returned
 * ETag, when it is an MD5 (no KMS encryption), must equal the MD5 of our
 * bytes. Objects above the multipart threshold go up in parts, each checked the
 * same way; the completed object's ETag must be the MD5 of the whole body or
 * the standard MD5-of-part-MD5s `-N` form, else its size is checked. Any
 * failure aborts the multipart upload, so no orphan parts stay behind.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
  type ServerSideEncryption,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import type { ObjectRetention } from './s3-object-lock.js';

/** User metadata key holding the SHA-256 of the whole object, checked on `get`. */
export const SHA256_METADATA = 'lifeboat-sha256';

export interface UploadTuning {
  /** Bodies larger than this go up as a multipart upload. */
  multipartThreshold: number;
  /** Size of every part but the last (S3 needs at least 5 MiB). */
  partSize: number;
  /** Parts in flight at once. */
  partConcurrency: number;
}

export const DEFAULT_UPLOAD_TUNING: UploadTuning = {
  multipartThreshold: 8 * 1024 * 1024,
  partSize: 8 * 1024 * 1024,
  partConcurrency: 4,
};

export interface UploadTarget {
  client: S3Client;
  bucket: string;
  key: string;
  /** Object name for messages. */
  name: string;
  storageClass?: string;
  serverSideEncryption?: string;
  /** Object Lock retention set on the object (needs Content-MD5, which every request here carries). */
  retention?: ObjectRetention;
  tuning: UploadTuning;
}

const md5 = (data: Uint8Array) => createHash('md5').update(data).digest();
const stripQuotes = (etag: string | undefined) => (etag ?? '').replace(/"/g, '').toLowerCase();

/** With SSE-KMS (and SSE-C) the ETag is not the MD5 of the body, so it cannot be compared. */
function etagIsMd5(target: UploadTarget): boolean {
  const sse = target.serverSideEncryption?.toLowerCase();
  return sse === undefined || sse === 'aes256';
}

function mismatch(target: UploadTarget, what: string, context: Record<string, unknown>): LifeboatError {
  return new LifeboatError(
    ErrorCode.Storage,
    `put ${target.name}: the server stored different bytes than were sent (${what})`,
    {
      hint: 'the upload was damaged on the way; it can be retried',
      retryable: true,
      context: { name: target.name, ...context },
    },
  );
}

function commonParams(target: UploadTarget, sha256: string) {
  return {
    Bucket: target.bucket,
    Key: target.key,
    ContentType: 'application/octet-stream',
    Metadata: { [SHA256_METADATA]: sha256 },
    ...(target.storageClass ? { StorageClass: target.storageClass as StorageClass } : {}),
    ...(target.serverSideEncryption
      ? { ServerSideEncryption: target.serverSideEncryption as ServerSideEncryption }
      : {}),
    ...(target.retention
      ? { ObjectLockMode: target.retention.mode, ObjectLockRetainUntilDate: target.retention.until }
      : {}),
  };
}

/** Uploads `data` and verifies what the server stored. Throws SDK errors as they are (the caller maps them). */
export async function uploadVerified(target: UploadTarget, data: Uint8Array): Promise<void> {
  const sha256 = createHash('sha256').update(data).digest('hex');
  if (data.byteLength <= target.tuning.multipartThreshold) return putSingle(target, data, sha256);
  return putMultipart(target, data, sha256);
}

async function putSingle(target: UploadTarget, data: Uint8Array, sha256: string): Promise<void> {
  const digest = md5(data);
  const res = await target.client.send(
    new PutObjectCommand({
      ...commonParams(target, sha256),
      // A Buffer copy: the SDK may read the body again on a redirect, and the caller may reuse its array.
      Body: Buffer.from(data),
      ContentLength: data.byteLength,
      ContentMD5: digest.toString('base64'),
    }),
  );
  const etag = stripQuotes(res.ETag);
  if (etagIsMd5(target) && /^[0-9a-f]{32}$/.test(etag) && etag !== digest.toString('hex')) {
    throw mismatch(target, 'ETag is not the MD5 of the body', { etag, md5: digest.toString('hex') });
  }
}

async function putMultipart(target: UploadTarget, data: Uint8Array, sha256: string): Promise<void> {
  const { client, bucket, key, tuning } = target;
  const created = await client.send(new CreateMultipartUploadCommand(commonParams(target, sha256)));
  const uploadId = created.UploadId;
  if (!uploadId)
    throw new LifeboatError(ErrorCode.Storage, `put ${target.name}: the server returned no multipart upload id`, {
      retryable: true,
    });
  const partCount = Math.ceil(data.byteLength / tuning.partSize);
  const parts: Array<{ PartNumber: number; ETag: string; md5: Buffer }> = [];
  let completed = false;
  try {
    let next = 0;
    const worker = async () => {
      while (next < partCount) {
        const index = next++;
        const body = Buffer.from(
          data.subarray(index * tuning.partSize, Math.min(data.byteLength, (index + 1) * tuning.partSize)),
        );
        const digest = md5(body);
        const res = await client.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: index + 1,
            Body: body,
            ContentLength: body.byteLength,
            ContentMD5: digest.toString('base64'),
          }),
        );
        const etag = stripQuotes(res.ETag);
        if (!etag) throw mismatch(target, `part ${index + 1} got no ETag`, { part: index + 1 });
        if (etagIsMd5(target) && /^[0-9a-f]{32}$/.test(etag) && etag !== digest.toString('hex')) {
          throw mismatch(target, `ETag of part ${index + 1} is not the MD5 of the part`, { part: index + 1, etag });
        }
        parts[index] = { PartNumber: index + 1, ETag: res.ETag!, md5: digest };
      }
    };
    // allSettled: every worker has stopped before the abort below, so no part lands after it.
    const results = await Promise.allSettled(
      Array.from({ length: Math.min(tuning.partConcurrency, partCount) }, worker),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const done = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) },
      }),
    );
    completed = true;
    await verifyCompleted(
      target,
      data,
      parts.map((p) => p.md5),
      stripQuotes(done.ETag),
    );
  } catch (err) {
    if (!completed) {
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
        .catch(() => undefined);
    }
    throw err;
  }
}

/** Checks the completed object; a wrong one is deleted so nothing damaged counts as stored. */
async function verifyCompleted(
  target: UploadTarget,
  data: Uint8Array,
  partDigests: Buffer[],
  etag: string,
): Promise<void> {
  const whole = md5(data).toString('hex');
  const ofParts = `${md5(Buffer.concat(partDigests)).toString('hex')}-${partDigests.length}`;
  let problem: string | undefined;
  if (etagIsMd5(target) && (/^[0-9a-f]{32}$/.test(etag) || /^[0-9a-f]{32}-\d+$/.test(etag))) {
    if (etag !== whole && etag !== ofParts) problem = 'ETag matches neither the MD5 of the body nor of its parts';
  } else {
    // ETag in an unknown form: at least the size must be right.
    const head = await target.client.send(new HeadObjectCommand({ Bucket: target.bucket, Key: target.key }));
    if (head.ContentLength !== data.byteLength) problem = `stored ${head.ContentLength} bytes of ${data.byteLength}`;
  }
  if (problem) {
    await target.client
      .send(new DeleteObjectCommand({ Bucket: target.bucket, Key: target.key }))
      .catch(() => undefined);
    throw mismatch(target, problem, { etag });
  }
}
