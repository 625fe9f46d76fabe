import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitUntil } from './free-port.js';

/**
 * A throwaway S3-compatible server for tests: s3rver 3.7 (npm devDependency),
 * run as its own process from its own CLI on a free loopback port, storing in
 * a temp directory.
 *
 * Why s3rver: MinIO, SeaweedFS, Garage and standalone Ceph RGW are not
 * installable here (only the npm registry and Debian packages are reachable;
 * Debian's radosgw 16 needs a whole RADOS cluster, its SQLite backend came
 * later). s3rver speaks the S3 REST protocol over real HTTP: ListObjectsV2
 * with continuation tokens, multipart upload, Range reads, user metadata,
 * storage classes, GetBucketLocation (always the default region, us-east-1),
 * InvalidAccessKeyId for unknown keys. It works with the current AWS SDK v3
 * when request checksums are sent only where required (the driver does that
 * anyway). The `@20minutes/s3rver` fork was tried: it checks SigV4 signatures
 * but computes them wrongly for bucket-level requests of the current SDK.
 *
 * It is started through s3rver-launch.cjs, which fixes one gap that would
 * make the conformance suite fail for the server's sake, not the driver's:
 * s3rver overwrites an object in place, so a concurrent GET could stream half
 * of it; the launcher serializes reads and writes per key, as atomic as S3.
 *
 * Its other gaps, which the tests work around rather than hide:
 * - SigV4 signatures are not verified (only that the access key exists), so a
 *   wrong secret cannot be provoked; an unknown access key can.
 * - no AbortMultipartUpload or ListMultipartUploads: in-progress uploads are
 *   read from its data directory instead (`incompleteUploads`).
 * - its continuation tokens use a cipher that OpenSSL 3 only has in the
 *   legacy provider, hence `--openssl-legacy-provider`.
 * - the only key pair is S3RVER / S3RVER.
 * - no Object Lock: it ignores the retention headers, keeps no versions and
 *   answers GetObjectLockConfiguration with NotImplemented. The Object Lock
 *   tests put test/helpers/object-lock-s3-proxy.ts in front of it.
 */
export interface S3Server {
  port: number;
  dir: string;
  pid: number;
  /** http://127.0.0.1:PORT */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** A 0600 KEY=VALUE credentials file with the server's key pair. */
  credentialsFile: string;
  /** Directory names of multipart uploads started in `bucket` and neither completed nor aborted. */
  incompleteUploads(bucket: string): Promise<string[]>;
  /** Kill at once (SIGKILL), leaving the directory. */
  kill(): Promise<void>;
  /** Kill and remove the directory. */
  stop(): Promise<void>;
}

/** Starts s3rver with per-key locking, so overwrites are atomic as on S3 (see the file). */
const LAUNCHER = fileURLToPath(new URL('./s3rver-launch.cjs', import.meta.url));

/** Where s3rver's FilesystemStore keeps in-progress multipart uploads of a bucket. */
const UPLOADS_DIR = '._S3rver_uploads';

export async function startS3Server(): Promise<S3Server> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-s3-'));
  const data = path.join(dir, 'data');
  let server: ChildProcess | undefined;
  let output = '';
  const kill = async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGKILL');
      await exited;
    }
  };
  const stop = async () => {
    await kill();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await mkdir(data, { mode: 0o700 });
    const credentialsFile = path.join(dir, 'credentials');
    await writeFile(credentialsFile, 'AWS_ACCESS_KEY_ID=S3RVER\nAWS_SECRET_ACCESS_KEY=S3RVER\n', { mode: 0o600 });
    const port = await freePort();
    server = spawn(process.execPath, ['--openssl-legacy-provider', LAUNCHER, data, String(port)], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.setEncoding('utf8').on('data', (d: string) => (output = (output + d).slice(-4000)));
    server.stderr!.setEncoding('utf8').on('data', (d: string) => (output = (output + d).slice(-4000)));
    const endpoint = `http://127.0.0.1:${port}`;
    await waitUntil(
      async () => {
        if (server!.exitCode !== null) throw new Error(`s3rver exited: ${output}`);
        // Unsigned ListBuckets: s3rver answers it without credentials once it listens.
        const res = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        return res.ok;
      },
      15_000,
      async () => output,
    );
    return {
      port,
      dir,
      pid: server.pid!,
      endpoint,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      credentialsFile,
      incompleteUploads: async (bucket) => readdir(path.join(data, bucket, UPLOADS_DIR)).catch(() => []),
      kill,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
