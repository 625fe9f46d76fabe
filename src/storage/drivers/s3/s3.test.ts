import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../../test/helpers/servers/free-port.js';
import { startS3Server, type S3Server } from '../../../../test/helpers/servers/s3.js';
import type { RemoteSettings } from '../../contract.js';
import { openStorage } from '../../registry.js';
import { describeStorageConformance, expectCode } from '../../testing/conformance.js';
import { openS3Storage, type S3Tuning } from './s3.js';

let server: S3Server;
let tmp: string;

beforeAll(async () => {
  server = await startS3Server();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-s3-test-'));
}, 30_000);
afterAll(async () => {
  await server?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const bucketName = () => `lb-${randomBytes(6).toString('hex')}`;
const settings = (extra: Partial<RemoteSettings> = {}): RemoteSettings => ({
  endpoint: server.endpoint,
  region: 'us-east-1',
  pathStyle: true,
  credentialsFile: server.credentialsFile,
  ...extra,
});
const open = (
  bucket: string,
  prefix = 'repo',
  extra: Partial<RemoteSettings> = {},
  create = true,
  tuning?: Partial<S3Tuning>,
) => openS3Storage(new URL(`s3://${bucket}/${prefix}`), { create, remote: settings(extra) }, tuning);

/** A plain SDK client on the same server, to look at what the driver stored. */
function rawClient(): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

async function rawKeys(bucket: string): Promise<string[]> {
  const client = rawClient();
  try {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    return keys.sort();
  } finally {
    client.destroy();
  }
}

describeStorageConformance('s3', async () => {
  const storage = await open(bucketName());
  return { storage, cleanup: () => storage.close() };
});

describe('S3Storage against an S3-compatible server', () => {
  it('stores objects under the prefix and shows the location without credentials', async () => {
    const bucket = bucketName();
    const s = await openStorage(`s3://${bucket}/backups/host1`, { create: true, remote: settings() });
    try {
      expect(s.location).toBe(`s3://${bucket}/backups/host1 on 127.0.0.1:${server.port}`);
      expect(s.location).not.toContain(server.secretAccessKey);
      await s.put('data/ab/x', Buffer.from('x'));
      await s.put('config', Buffer.from('c'));
      expect(await rawKeys(bucket)).toEqual(['backups/host1/config', 'backups/host1/data/ab/x']);
      expect(await s.space()).toEqual({ usedBytes: 2 });
    } finally {
      await s.close();
    }
  });

  it('ignores foreign keys and directory markers under the prefix', async () => {
    const bucket = bucketName();
    const s = await open(bucket);
    const client = rawClient();
    try {
      await s.put('data/ab/x', Buffer.from('x'));
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'repo/data/', Body: '' }));
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'repo/data/has space', Body: 'foreign' }));
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'repository-other/config', Body: 'other' }));
      expect(await s.list('')).toEqual([{ name: 'data/ab/x', size: 1 }]);
    } finally {
      client.destroy();
      await s.close();
    }
  });

  it('refuses a missing bucket without create (repository_not_found) and creates it with create, idempotently', async () => {
    const bucket = bucketName();
    const err = await expectCode(open(bucket, 'repo', {}, false), 'repository_not_found');
    expect(err.hint).toContain('lifeboat init');
    const first = await open(bucket, 'repo', {}, true);
    await first.put('config', Buffer.from('c'));
    await first.close();
    const again = await open(bucket, 'repo', {}, true);
    expect((await again.get('config')).toString()).toBe('c');
    await again.close();
  });

  it('round-trips a 40 MiB object by multipart upload and leaves no incomplete upload', async () => {
    const bucket = bucketName();
    const s = await open(bucket);
    try {
      const data = randomBytes(40 * 1024 * 1024);
      await s.put('data/ff/big', data);
      expect(await server.incompleteUploads(bucket)).toEqual([]);
      expect(await s.stat('data/ff/big')).toEqual({ name: 'data/ff/big', size: data.length });
      expect((await s.get('data/ff/big')).equals(data)).toBe(true);
      const mid = 20 * 1024 * 1024 - 3;
      expect((await s.getRange('data/ff/big', mid, 1000)).equals(data.subarray(mid, mid + 1000))).toBe(true);
      // A second multipart write replaces the object whole.
      const smaller = randomBytes(9 * 1024 * 1024);
      await s.put('data/ff/big', smaller);
      expect((await s.get('data/ff/big')).equals(smaller)).toBe(true);
      expect(await server.incompleteUploads(bucket)).toEqual([]);
    } finally {
      await s.close();
    }
  }, 60_000);

  it('follows continuation tokens through a listing of more than 1000 objects', async () => {
    const bucket = bucketName();
    const s = await open(bucket);
    try {
      const names = Array.from({ length: 1105 }, (_, i) => `data/${(i % 7).toString(16).padStart(2, '0')}/obj-${i}`);
      for (let i = 0; i < names.length; i += 50)
        await Promise.all(names.slice(i, i + 50).map((n, j) => s.put(n, Buffer.alloc((i + j) % 3))));
      await s.put('index/i1', Buffer.alloc(4));
      const listed = await s.list('data/');
      expect(listed.length).toBe(1105);
      expect(new Set(listed.map((o) => o.name))).toEqual(new Set(names));
      expect(listed.find((o) => o.name === 'data/01/obj-8')).toEqual({ name: 'data/01/obj-8', size: 2 });
      expect((await s.list('')).length).toBe(1106);
      // Small pages: many round trips, same result.
      const paged = await open(bucket, 'repo', {}, false, { listPageSize: 97 });
      try {
        expect((await paged.list('data/')).map((o) => o.name).sort()).toEqual([...names].sort());
      } finally {
        await paged.close();
      }
    } finally {
      await s.close();
    }
  }, 120_000);

  it('rejects a whole read whose bytes do not match the SHA-256 stored with the object', async () => {
    const bucket = bucketName();
    const s = await open(bucket);
    const client = rawClient();
    try {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'repo/data/ab/x',
          Body: Buffer.from('tampered'),
          Metadata: { 'lifeboat-sha256': '0'.repeat(64) },
        }),
      );
      const err = await expectCode(s.get('data/ab/x'), 'storage');
      expect(err.message).toContain('SHA-256');
      // Objects written by other tools (no stored hash) are read as they are.
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'repo/data/ab/y', Body: Buffer.from('plain') }));
      expect((await s.get('data/ab/y')).toString()).toBe('plain');
    } finally {
      client.destroy();
      await s.close();
    }
  });

  it('passes the storage class on uploads', async () => {
    const bucket = bucketName();
    const s = await open(bucket, 'repo', { storageClass: 'STANDARD_IA' });
    const client = rawClient();
    try {
      await s.put('config', Buffer.from('c'));
      await s.put('data/ab/big', randomBytes(9 * 1024 * 1024));
      for (const key of ['repo/config', 'repo/data/ab/big']) {
        expect((await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).StorageClass).toBe(
          'STANDARD_IA',
        );
      }
    } finally {
      client.destroy();
      await s.close();
    }
  }, 30_000);

  describe('allowed_regions', () => {
    it('refuses to write to a bucket outside the allowed regions, before anything is stored', async () => {
      const bucket = bucketName();
      await (await open(bucket)).close();
      const s = await open(bucket, 'repo', { allowedRegions: ['eu-central-1', 'eu-west-1'] }, false);
      try {
        const err = await expectCode(s.put('config', Buffer.from('c')), 'refused');
        expect(err.message).toContain('us-east-1');
        expect(err.message).toContain('eu-central-1');
        expect(err.hint).toContain('allowed_regions');
        await expectCode(s.put('data/ab/x', Buffer.from('x')), 'refused');
        expect(await rawKeys(bucket)).toEqual([]);
        // Reading is not a write: still allowed.
        expect(await s.list('')).toEqual([]);
      } finally {
        await s.close();
      }
    });

    it('writes when the bucket region (empty location constraint = us-east-1) is allowed', async () => {
      const s = await open(bucketName(), 'repo', { allowedRegions: ['eu-west-1', 'US-EAST-1'] });
      try {
        await s.put('config', Buffer.from('c'));
        expect((await s.get('config')).toString()).toBe('c');
      } finally {
        await s.close();
      }
    });

    it('refuses to create a bucket in a region that is not allowed', async () => {
      const bucket = bucketName();
      await expectCode(
        open(bucket, 'repo', { region: 'us-east-1', allowedRegions: ['eu-central-1'] }, true),
        'refused',
      );
      await expectCode(open(bucket, 'repo', {}, false), 'repository_not_found');
    });
  });

  describe('credentials', () => {
    const credFile = async (content: string, mode = 0o600) => {
      const file = path.join(tmp, `cred-${randomBytes(4).toString('hex')}`);
      await writeFile(file, content, { mode });
      await chmod(file, mode);
      return file;
    };

    it('reads KEY=VALUE files with comments, export prefixes and quotes', async () => {
      const file = await credFile(
        `# test server\nexport AWS_ACCESS_KEY_ID="${server.accessKeyId}"\n\nAWS_SECRET_ACCESS_KEY = '${server.secretAccessKey}'\n`,
      );
      const s = await open(bucketName(), 'repo', { credentialsFile: file });
      await s.put('config', Buffer.from('c'));
      await s.close();
    });

    // s3rver does not verify signatures, so a wrong secret cannot be provoked; an unknown key can.
    it('reports an unknown access key as a storage error about credentials, without the secret', async () => {
      const secret = `s-${randomBytes(12).toString('hex')}`;
      const file = await credFile(`AWS_ACCESS_KEY_ID=AKIDUNKNOWN\nAWS_SECRET_ACCESS_KEY=${secret}\n`);
      const bucket = bucketName();
      await (await open(bucket)).close();
      for (const create of [false, true]) {
        const err = await expectCode(open(bucket, 'repo', { credentialsFile: file }, create), 'storage');
        expect(err.retryable).toBe(false);
        expect(err.message).toMatch(/access denied/);
        expect(err.hint).toContain(`credentials_file ${file}`);
        expect(JSON.stringify({ m: err.message, h: err.hint, c: err.context, s: err.stack })).not.toContain(secret);
      }
    });

    it('refuses a credentials file that group or others can read, and one without both keys', async () => {
      const loose = await credFile(
        `AWS_ACCESS_KEY_ID=${server.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${server.secretAccessKey}\n`,
        0o644,
      );
      const err = await expectCode(open(bucketName(), 'repo', { credentialsFile: loose }), 'config');
      expect(err.hint).toBe(`run chmod 600 ${loose}`);
      const partial = await credFile(`AWS_ACCESS_KEY_ID=${server.accessKeyId}\n`);
      await expectCode(open(bucketName(), 'repo', { credentialsFile: partial }), 'config');
      const garbled = await credFile('AWS_SECRET_ACCESS_KEY topsecretvalue\n');
      const bad = await expectCode(open(bucketName(), 'repo', { credentialsFile: garbled }), 'config');
      expect(bad.message).toContain('line 1');
      expect(bad.message).not.toContain('topsecretvalue');
      await expectCode(open(bucketName(), 'repo', { credentialsFile: path.join(tmp, 'missing') }), 'config');
    });

    it('refuses credentials in the URL without echoing them', async () => {
      const err = await expectCode(
        openStorage('s3://AKID:hunter2secret@bucket/prefix', { remote: settings() }),
        'usage',
      );
      expect(err.message).not.toContain('hunter2secret');
    });
  });

  describe('unreachable server', () => {
    it('fails to open with a retryable storage error when nothing listens', async () => {
      const port = await freePort();
      const err = await expectCode(open(bucketName(), 'repo', { endpoint: `http://127.0.0.1:${port}` }), 'storage');
      expect(err.retryable).toBe(true);
      expect(err.hint).toContain('reachable');
    });

    it('fails calls with retryable storage errors after the server went down', async () => {
      const other = await startS3Server();
      const s = await openS3Storage(new URL(`s3://${bucketName()}/repo`), {
        create: true,
        remote: {
          endpoint: other.endpoint,
          region: 'us-east-1',
          pathStyle: true,
          credentialsFile: other.credentialsFile,
        },
      });
      try {
        await s.put('config', Buffer.from('c'));
        await other.kill();
        const calls = [
          () => s.get('config'),
          () => s.put('config', Buffer.from('d')),
          () => s.list(''),
          () => s.stat('config'),
          () => s.remove('config'),
        ];
        for (const call of calls) {
          const err = await expectCode(call(), 'storage');
          expect(err.retryable).toBe(true);
        }
      } finally {
        await s.close();
        await other.stop();
      }
    }, 30_000);
  });

  it('rejects URLs it cannot use with usage errors', async () => {
    await expectCode(openStorage('s3://bucket:9000/prefix', { remote: settings() }), 'usage');
    await expectCode(openStorage('s3://b/prefix?region=x', { remote: settings() }), 'usage');
    await expectCode(openStorage('s3://bucket/a//b', { remote: settings() }), 'usage');
  });

  it('is unusable after close', async () => {
    const s = await open(bucketName());
    await s.close();
    await expectCode(s.get('config'), 'storage');
    await expectCode(s.list(''), 'storage');
  });
});
