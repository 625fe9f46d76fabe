/**
 * Maps repository locations (`--repo`) to Storage drivers by URL scheme.
 * A location without a scheme is a local path; `file:` and `memory:` are
 * registered by default, remote drivers register themselves on import.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { redactUrl } from '../util/redact-url.js';
import type { Storage, StorageFactory, StorageOptions } from './contract.js';
import { createLocalStorage } from './drivers/local.js';
import { createMemoryStorage } from './drivers/memory.js';
import { retryingFactory } from './middleware/retrying.js';

const factories = new Map<string, StorageFactory>();

/** Network drivers: opened and used through RetryingStorage (transient failures are retried). */
const REMOTE_SCHEMES = new Set(['sftp', 's3']);

/** `sftp://…`, `s3:…`; single letters excluded so `C:\repo` stays a path. */
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]+):/;

function normalizeScheme(scheme: string): string {
  const s = scheme.toLowerCase().replace(/:$/, '');
  if (!/^[a-z][a-z0-9+.-]*$/.test(s)) throw new LifeboatError(ErrorCode.Usage, `invalid URL scheme ${JSON.stringify(scheme)}`);
  return s;
}

/** Register (or replace) the driver for `scheme` (`'sftp'` or `'sftp:'`). */
export function registerStorage(scheme: string, factory: StorageFactory): void {
  factories.set(normalizeScheme(scheme), factory);
}

/** Schemes with a registered driver, sorted. */
export function registeredSchemes(): string[] {
  return [...factories.keys()].sort();
}

function isUrl(location: string): boolean {
  return SCHEME.test(location);
}

/** Parses a location into a URL; plain paths become `file:` URLs resolved against the cwd. */
export function parseLocation(location: string): URL {
  if (typeof location !== 'string' || location.trim() === '') {
    throw new LifeboatError(ErrorCode.Usage, 'the repository location is empty', { hint: 'pass --repo <path or URL>' });
  }
  if (!isUrl(location)) return pathToFileURL(path.resolve(process.cwd(), location));
  try {
    return new URL(location);
  } catch (err) {
    throw new LifeboatError(ErrorCode.Usage, `invalid repository URL ${describeLocation(location)}`, { cause: err });
  }
}

/** Opens the Storage for a path or URL. Unknown schemes are a usage error. */
export async function openStorage(location: string, options: StorageOptions = {}): Promise<Storage> {
  const url = parseLocation(location);
  const scheme = url.protocol.slice(0, -1);
  const factory = factories.get(scheme);
  if (!factory) {
    throw new LifeboatError(ErrorCode.Usage, `unsupported repository location scheme '${scheme}:' in ${describeLocation(location)}`, {
      hint: `supported schemes: ${registeredSchemes().join(', ')}, or a plain directory path`,
      context: { scheme },
    });
  }
  return REMOTE_SCHEMES.has(scheme) ? retryingFactory(factory)(url, options) : factory(url, options);
}

/**
 * A display form of `location` for logs and messages: `user:password@` removed,
 * secret-looking query parameters redacted, `file:` URLs and paths shown as an
 * absolute path. Never throws.
 */
export function describeLocation(location: string): string {
  if (typeof location !== 'string') return String(location);
  if (!isUrl(location)) return path.resolve(process.cwd(), location);
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    // Unparseable: strip anything that looks like userinfo after `scheme://`.
    return location.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/?#]*@/, '$1');
  }
  if (url.protocol === 'file:') {
    try {
      return fileURLToPath(url);
    } catch {
      // file://host/… on POSIX: fall through to the URL form.
    }
  }
  return redactUrl(url).href;
}

registerStorage('file', createLocalStorage);
registerStorage('memory', createMemoryStorage);
// Loaded on first use: the AWS SDK is large and most runs never touch S3.
registerStorage('s3', async (url, options) => (await import('./drivers/s3.js')).createS3Storage(url, options));
registerStorage('sftp', async (url, options) => (await import('./drivers/sftp.js')).createSftpStorage(url, options));
