/**
 * Storage on any S3-compatible service: `s3://bucket/prefix`, objects stored
 * under `prefix/<name>`. Settings (endpoint, region, path style, storage
 * class, server-side encryption, credentials file, allowed regions) come from
 * the repository's entry in lifeboat.yaml. See docs/storage/s3.md.
 *
 * Consistency: S3 PUTs are whole-or-nothing and reads after writes are strongly
 * consistent, so `put` needs no temporary name; uploads are verified (see
 * s3-upload.ts) and full reads are checked against the SHA-256 stored with the
 * object. The SDK's own retries are off (one attempt per call): retrying is the
 * job of the storage middleware, and errors say whether a retry may help.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type BucketLocationConstraint,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import type { ObjectInfo, RemoteSettings, SpaceInfo, Storage, StorageFactory, StorageOptions } from '../../contract.js';
import { retainedError } from '../../retained.js';
import { assertValidObjectName, assertValidPrefix, assertValidRange, isValidObjectName } from '../../names.js';
import {
  parseS3Url,
  readCredentialsFile,
  resolveEndpoint,
  resolveRegion,
  s3Location,
  type S3Target,
  type StaticCredentials,
} from './s3-config.js';
import { isNoSuchBucket, isNotFound, s3Error, s3ErrorName } from './s3-errors.js';
import { assertObjectLockEnabled, retentionFor } from './s3-object-lock.js';
import { DEFAULT_UPLOAD_TUNING, SHA256_METADATA, uploadVerified, type UploadTuning } from './s3-upload.js';

/** Knobs for tests and unusual deployments; every field has a default. */
export interface S3Tuning extends UploadTuning {
  /** Milliseconds to establish a connection. */
  connectTimeoutMs: number;
  /** Milliseconds a socket may stay silent mid-request before the request fails. */
  idleTimeoutMs: number;
  /** Objects per ListObjectsV2 page (S3's maximum is 1000). */
  listPageSize: number;
}

export const DEFAULT_S3_TUNING: S3Tuning = {
  ...DEFAULT_UPLOAD_TUNING,
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 120_000,
  listPageSize: 1000,
};

/** Legacy location constraints that name a region differently. */
const LEGACY_REGIONS: Record<string, string> = { '': 'us-east-1', US: 'us-east-1', EU: 'eu-west-1' };

/** Whole reads whose SHA-256 does not match are read again this many times before failing. */
const READ_ATTEMPTS = 3;

export interface S3StorageInit {
  target: S3Target;
  remote: RemoteSettings;
  credentials?: StaticCredentials;
  credentialSource: string;
  tuning?: Partial<S3Tuning>;
  env?: NodeJS.ProcessEnv;
}

export class S3Storage implements Storage {
  readonly location: string;
  readonly bucket: string;
  /** Key prefix with a trailing '/', or '' for the bucket root. */
  readonly keyPrefix: string;
  readonly region: string;
  private readonly client: S3Client;
  private readonly remote: RemoteSettings;
  private readonly tuning: S3Tuning;
  private readonly credentialSource: string;
  private readonly secrets: string[];
  private regionCheck: Promise<void> | undefined;
  private closed = false;

  constructor(init: S3StorageInit) {
    const env = init.env ?? process.env;
    this.remote = init.remote;
    this.tuning = { ...DEFAULT_S3_TUNING, ...init.tuning };
    this.bucket = init.target.bucket;
    this.keyPrefix = init.target.prefix ? `${init.target.prefix}/` : '';
    const endpoint = resolveEndpoint(init.remote, env);
    this.region = resolveRegion(init.remote, env);
    this.location = s3Location(init.target, endpoint);
    this.credentialSource = init.credentialSource;
    this.secrets = [
      init.credentials?.secretAccessKey,
      init.credentials?.sessionToken,
      env.AWS_SECRET_ACCESS_KEY,
      env.AWS_SESSION_TOKEN,
    ].filter((s): s is string => typeof s === 'string' && s.length > 0);
    // Lifeboat supports Node 20; the SDK's notice about its own future Node support
    // would otherwise be printed on stderr by every command that touches S3.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const agent = { keepAlive: true, maxSockets: 32 };
    this.client = new S3Client({
      region: this.region,
      ...(endpoint ? { endpoint } : {}),
      forcePathStyle: init.remote.pathStyle ?? false,
      ...(init.credentials ? { credentials: init.credentials } : {}),
      followRegionRedirects: true,
      maxAttempts: 1,
      // Checksums only where S3 requires them: many S3-compatible servers reject the newer
      // flexible-checksum headers and trailers. Integrity is covered by Content-MD5 and our own checks.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: this.tuning.connectTimeoutMs,
        socketTimeout: this.tuning.idleTimeoutMs,
        httpAgent: agent,
        httpsAgent: agent,
      },
    });
  }

  private key(name: string): string {
    return `${this.keyPrefix}${name}`;
  }

  private assertOpen(): void {
    if (this.closed) throw new LifeboatError(ErrorCode.Storage, `storage ${this.location} is closed`);
  }

  private fail(op: string, name: string, err: unknown): LifeboatError {
    return s3Error(err, {
      op,
      name,
      bucket: this.bucket,
      location: this.location,
      credentialSource: this.credentialSource,
      secrets: this.secrets,
    });
  }

  /**
   * Checks the bucket exists (HeadBucket); with `create`, creates it when it does not
   * (with Object Lock enabled when the repository has `object_lock`). With `object_lock`
   * the bucket must have Object Lock enabled.
   */
  async open(create: boolean): Promise<void> {
    await this.openBucket(create);
    if (this.remote.objectLock) await assertObjectLockEnabled(this.client, this.bucket, this.location);
  }

  private async openBucket(create: boolean): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      const absent =
        isNoSuchBucket(err) || s3ErrorName(err) === 'NotFound' || (isNotFound(err) && s3ErrorName(err) !== 'NoSuchKey');
      if (!absent) throw this.fail('open', '', err);
      if (!create) {
        throw new LifeboatError(
          ErrorCode.RepositoryNotFound,
          `no repository at ${this.location}: bucket ${this.bucket} does not exist`,
          {
            hint: 'run `lifeboat init` first (it creates the bucket when the credentials allow), or check the URL, endpoint and region',
            context: { location: this.location, bucket: this.bucket },
            cause: err,
          },
        );
      }
    }
    await this.assertRegionAllowed(this.region);
    try {
      const constraint =
        this.region === 'us-east-1' ? undefined : { LocationConstraint: this.region as BucketLocationConstraint };
      await this.client.send(
        new CreateBucketCommand({
          Bucket: this.bucket,
          ...(constraint ? { CreateBucketConfiguration: constraint } : {}),
          ...(this.remote.objectLock ? { ObjectLockEnabledForBucket: true } : {}),
        }),
      );
    } catch (err) {
      if (s3ErrorName(err) === 'BucketAlreadyOwnedByYou') return;
      throw this.fail('create bucket', '', err);
    }
  }

  private assertRegionAllowed(region: string): Promise<void> {
    const allowed = this.remote.allowedRegions;
    if (!allowed || allowed.length === 0) return Promise.resolve();
    if (allowed.some((r) => r.toLowerCase() === region.toLowerCase())) return Promise.resolve();
    return Promise.reject(
      new LifeboatError(
        ErrorCode.Refused,
        `refusing to write to ${this.location}: bucket ${this.bucket} is in region ${region}, which is not in allowed_regions (${allowed.join(', ')})`,
        {
          hint: 'use a bucket in an allowed region, or change allowed_regions of this repository in lifeboat.yaml',
          context: { bucket: this.bucket, region, allowedRegions: allowed },
        },
      ),
    );
  }

  /** Before the first write: the bucket's own region (GetBucketLocation) must be allowed. Fails closed. */
  private ensureRegionAllowed(): Promise<void> {
    if (!this.remote.allowedRegions?.length) return Promise.resolve();
    this.regionCheck ??= (async () => {
      let region: string;
      try {
        const res = await this.client.send(new GetBucketLocationCommand({ Bucket: this.bucket }));
        const constraint = (res.LocationConstraint as string | undefined) ?? '';
        region = LEGACY_REGIONS[constraint] ?? constraint;
      } catch (err) {
        const mapped = this.fail('get bucket location', '', err);
        throw new LifeboatError(mapped.code, `${mapped.message} (needed to enforce allowed_regions)`, {
          hint: 'allowed_regions needs the s3:GetBucketLocation permission on the bucket',
          retryable: mapped.retryable,
          context: mapped.context,
          cause: err,
        });
      }
      await this.assertRegionAllowed(region);
    })();
    // A transient failure must not stick: the next write asks again.
    this.regionCheck.catch((err: unknown) => {
      if (err instanceof LifeboatError && err.retryable) this.regionCheck = undefined;
    });
    return this.regionCheck;
  }

  async put(name: string, data: Uint8Array): Promise<void> {
    this.assertOpen();
    assertValidObjectName(name);
    await this.ensureRegionAllowed();
    try {
      await uploadVerified(
        {
          client: this.client,
          bucket: this.bucket,
          key: this.key(name),
          name,
          storageClass: this.remote.storageClass,
          serverSideEncryption: this.remote.serverSideEncryption,
          retention: retentionFor(this.remote.objectLock, name),
          tuning: this.tuning,
        },
        data,
      );
    } catch (err) {
      throw this.fail('put', name, err);
    }
  }

  async get(name: string): Promise<Buffer> {
    this.assertOpen();
    assertValidObjectName(name);
    for (let attempt = 1; ; attempt++) {
      const { body, res } = await this.fetch('get', name, undefined);
      const expected = res.Metadata?.[SHA256_METADATA];
      if (expected === undefined || createHash('sha256').update(body).digest('hex') === expected.toLowerCase())
        return body;
      // A server that is not atomic (or a proxy) may have mixed two versions: read again, never return it.
      if (attempt >= READ_ATTEMPTS) {
        throw new LifeboatError(
          ErrorCode.Storage,
          `get ${name}: the bytes read do not match the SHA-256 stored with the object at ${this.location}`,
          {
            hint: 'the object is damaged or was being replaced while it was read',
            retryable: true,
            context: { op: 'get', name, attempts: attempt },
          },
        );
      }
    }
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    this.assertOpen();
    assertValidObjectName(name);
    assertValidRange(name, offset, length);
    if (length === 0) {
      // No byte range can express "nothing": check existence and bounds instead.
      const { size } = await this.stat(name);
      if (offset > size) throw this.pastEnd(name, offset, length, size);
      return Buffer.alloc(0);
    }
    const { body, total } = await this.fetch('getRange', name, { offset, length });
    if (body.length !== length) throw this.pastEnd(name, offset, length, total);
    return body;
  }

  private pastEnd(name: string, offset: number, length: number, size: number | undefined): LifeboatError {
    return new LifeboatError(
      ErrorCode.Storage,
      `range ${offset}+${length} runs past the end of ${name}${size !== undefined ? ` (${size} bytes)` : ''}`,
      {
        retryable: false,
        context: { op: 'getRange', name, offset, length, ...(size !== undefined ? { size } : {}) },
      },
    );
  }

  /** One GetObject; the body must be exactly as long as the response said. */
  private async fetch(
    op: string,
    name: string,
    range: { offset: number; length: number } | undefined,
  ): Promise<{ body: Buffer; res: GetObjectCommandOutput; total?: number }> {
    let res: GetObjectCommandOutput;
    let bytes: Uint8Array;
    try {
      res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.key(name),
          ...(range ? { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {}),
        }),
      );
      if (!res.Body)
        throw new LifeboatError(ErrorCode.Storage, `${op} ${name}: the server sent no body`, { retryable: true });
      bytes = await res.Body.transformToByteArray();
    } catch (err) {
      if (
        range &&
        (s3ErrorName(err) === 'InvalidRange' ||
          (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416)
      ) {
        throw this.pastEnd(name, range.offset, range.length, undefined);
      }
      throw this.fail(op, name, err);
    }
    const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (res.ContentLength !== undefined && body.length !== res.ContentLength) {
      throw new LifeboatError(
        ErrorCode.Storage,
        `${op} ${name}: received ${body.length} of ${res.ContentLength} bytes from ${this.location}`,
        {
          retryable: true,
          context: { op, name, received: body.length, expected: res.ContentLength },
        },
      );
    }
    const total = /\/(\d+)$/.exec(res.ContentRange ?? '')?.[1];
    return { body, res, ...(total !== undefined ? { total: Number(total) } : {}) };
  }

  async stat(name: string): Promise<ObjectInfo> {
    this.assertOpen();
    assertValidObjectName(name);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(name) }));
      if (typeof res.ContentLength !== 'number')
        throw new LifeboatError(ErrorCode.Storage, `stat ${name}: the server sent no size`, { retryable: true });
      return { name, size: res.ContentLength };
    } catch (err) {
      throw this.fail('stat', name, err);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    this.assertOpen();
    assertValidPrefix(prefix);
    const out: ObjectInfo[] = [];
    const seen = new Set<string>();
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.key(prefix),
            MaxKeys: this.tuning.listPageSize,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const object of page.Contents ?? []) {
          if (!object.Key?.startsWith(this.keyPrefix)) continue;
          const name = object.Key.slice(this.keyPrefix.length);
          // Directory markers and objects no put could have written are not ours.
          if (!isValidObjectName(name) || seen.has(name)) continue;
          if (typeof object.Size !== 'number')
            throw new LifeboatError(ErrorCode.Storage, `list ${prefix}: the server sent no size for ${name}`, {
              retryable: true,
            });
          seen.add(name);
          out.push({ name, size: object.Size });
        }
        if (page.IsTruncated && !page.NextContinuationToken) {
          // A truncated page without a way to the next one would silently end the listing short.
          throw new LifeboatError(
            ErrorCode.Storage,
            `list ${prefix}: the server said the listing continues but sent no continuation token`,
            { retryable: true },
          );
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.fail('list', prefix, err);
    }
    return out;
  }

  async remove(name: string): Promise<void> {
    this.assertOpen();
    assertValidObjectName(name);
    try {
      // S3 answers 204 for an absent key too; servers that say NoSuchKey are treated the same.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(name) }));
    } catch (err) {
      if (isNotFound(err)) return;
      // Under Object Lock a delete of a retained object is refused (a locked version, or a policy denying it).
      if (s3ErrorName(err) === 'AccessDenied' && retentionFor(this.remote.objectLock, name))
        throw retainedError(name, this.location, err);
      throw this.fail('remove', name, err);
    }
  }

  /** S3 has no capacity limit to report: only the bytes the repository's objects use. */
  async space(): Promise<SpaceInfo> {
    const objects = await this.list('');
    return { usedBytes: objects.reduce((sum, o) => sum + o.size, 0) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
  }
}

/** Resolves credentials and opens (or with `create`, makes) the bucket. Tuning is for tests. */
export async function openS3Storage(
  url: URL,
  options: StorageOptions = {},
  tuning?: Partial<S3Tuning>,
): Promise<S3Storage> {
  const target = parseS3Url(url);
  const remote = options.remote ?? {};
  let credentials: StaticCredentials | undefined;
  let credentialSource = 'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the instance role';
  if (remote.credentialsFile) {
    credentials = await readCredentialsFile(remote.credentialsFile);
    credentialSource = `credentials_file ${remote.credentialsFile}`;
  } else if (process.env.AWS_ACCESS_KEY_ID) {
    credentialSource = 'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY';
  }
  const storage = new S3Storage({ target, remote, credentials, credentialSource, tuning });
  try {
    await storage.open(options.create === true);
  } catch (err) {
    await storage.close();
    throw err;
  }
  return storage;
}

/** Factory for `s3:` URLs. */
export const createS3Storage: StorageFactory = (url, options) => openS3Storage(url, options);
