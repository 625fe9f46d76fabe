/**
 * Everything the S3 driver needs before its first request: the bucket and key
 * prefix from `s3://bucket/prefix`, the endpoint and region, the display
 * location (never with credentials), and the credentials — from the
 * repository's `credentials_file` or else the AWS SDK's default chain
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, instance roles).
 *
 * @module
 */

import { promises as fs } from 'node:fs';
import { ErrorCode, LifeboatError, systemErrorCode } from '../../../errors/index.js';
import type { RemoteSettings } from '../../contract.js';
import { objectNameProblem } from '../../names.js';

export interface S3Target {
  bucket: string;
  /** Key prefix without slashes at either end; '' for the bucket root. */
  prefix: string;
}

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Bucket names as S3 accepts them, including legacy us-east-1 names (upper case, '_'). */
const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/;

function usage(message: string, hint: string): LifeboatError {
  return new LifeboatError(ErrorCode.Usage, message, { hint });
}

/** Parses `s3://bucket/prefix`. Credentials in the URL are refused (they would end up in argv and logs). */
export function parseS3Url(url: URL): S3Target {
  if (url.protocol !== 's3:') throw usage(`the S3 driver cannot open ${url.protocol} URLs`, 'use s3://bucket/prefix');
  if (url.username || url.password) {
    throw usage(
      'credentials in an s3:// URL are not accepted',
      'put them in a credentials_file or the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment variables',
    );
  }
  if (url.search || url.hash || url.port) {
    throw usage(
      `an s3:// URL takes no port, query or fragment: s3://${url.hostname}${url.pathname}`,
      'set endpoint, region and other options in lifeboat.yaml',
    );
  }
  const bucket = url.hostname;
  if (!BUCKET.test(bucket))
    throw usage(`invalid S3 bucket name ${JSON.stringify(bucket)}`, 'write the location as s3://bucket/prefix');
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
  if (prefix !== '') {
    const problem = objectNameProblem(prefix);
    if (problem)
      throw usage(
        `invalid key prefix ${JSON.stringify(prefix)} in s3://${bucket}/${prefix}: ${problem}`,
        "a prefix is '/'-separated segments of [A-Za-z0-9._-]",
      );
  }
  return { bucket, prefix };
}

/** `host[:port]` of the endpoint, without any userinfo; undefined when there is none or it does not parse. */
export function endpointHost(endpoint: string | undefined): string | undefined {
  if (!endpoint) return undefined;
  try {
    return new URL(endpoint).host || undefined;
  } catch {
    return undefined;
  }
}

/** `s3://bucket/prefix`, plus ` on host:port` for a custom endpoint. */
export function s3Location(target: S3Target, endpoint: string | undefined): string {
  const base = `s3://${target.bucket}${target.prefix ? `/${target.prefix}` : ''}`;
  const host = endpointHost(endpoint);
  return host ? `${base} on ${host}` : base;
}

/** Region from the settings, else AWS_REGION / AWS_DEFAULT_REGION, else us-east-1 (S3 redirects to the bucket's own region). */
export function resolveRegion(remote: RemoteSettings | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return remote?.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
}

/** Endpoint from the settings or the standard AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL variables. */
export function resolveEndpoint(
  remote: RemoteSettings | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const endpoint = remote?.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  if (endpoint === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(endpoint);
  } catch {
    throw new LifeboatError(ErrorCode.Config, 'the S3 endpoint is not a URL', {
      hint: 'write it as https://host[:port] or http://127.0.0.1:9000',
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new LifeboatError(ErrorCode.Config, `the S3 endpoint must be http:// or https://, not ${parsed.protocol}`, {
      hint: 'write it as https://host[:port]',
    });
  }
  if (parsed.username || parsed.password) {
    throw new LifeboatError(ErrorCode.Config, 'credentials in the S3 endpoint URL are not accepted', {
      hint: 'put them in credentials_file',
    });
  }
  return endpoint;
}

const KEYS = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']);

/**
 * Parses a credentials file: KEY=VALUE lines (`export ` prefix, quotes, blank
 * lines and `#` comments allowed). Errors name the line number, never its content.
 */
export function parseCredentialsFile(text: string, file: string): StaticCredentials {
  const values = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) {
      throw new LifeboatError(ErrorCode.Config, `line ${i + 1} of the S3 credentials file ${file} is not KEY=VALUE`, {
        hint: 'write AWS_ACCESS_KEY_ID=…, AWS_SECRET_ACCESS_KEY=… and optionally AWS_SESSION_TOKEN=…, one per line',
      });
    }
    const key = m[1]!.toUpperCase();
    let value = m[2]!;
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0]))
      value = value.slice(1, -1);
    if (KEYS.has(key)) values.set(key, value);
  }
  const accessKeyId = values.get('AWS_ACCESS_KEY_ID');
  const secretAccessKey = values.get('AWS_SECRET_ACCESS_KEY');
  if (!accessKeyId || !secretAccessKey) {
    throw new LifeboatError(
      ErrorCode.Config,
      `the S3 credentials file ${file} must set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
      {
        hint: 'write AWS_ACCESS_KEY_ID=…, AWS_SECRET_ACCESS_KEY=… and optionally AWS_SESSION_TOKEN=…, one per line',
      },
    );
  }
  const sessionToken = values.get('AWS_SESSION_TOKEN') || undefined;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/**
 * Reads the credentials file. Like ssh with private keys, a file that group or
 * others may access is refused: these keys can usually delete the backups.
 */
export async function readCredentialsFile(file: string): Promise<StaticCredentials> {
  let text: string;
  try {
    const handle = await fs.open(file, 'r');
    try {
      const st = await handle.stat();
      if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
        throw new LifeboatError(
          ErrorCode.Config,
          `the S3 credentials file ${file} is accessible by group or others (mode ${(st.mode & 0o777).toString(8).padStart(3, '0')})`,
          {
            hint: `run chmod 600 ${file}`,
          },
        );
      }
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof LifeboatError) throw err;
    throw new LifeboatError(
      ErrorCode.Config,
      `cannot read the S3 credentials file ${file}: ${systemErrorCode(err) ?? (err as Error).message}`,
      {
        hint: 'check credentials_file in lifeboat.yaml',
        cause: err,
      },
    );
  }
  return parseCredentialsFile(text, file);
}
