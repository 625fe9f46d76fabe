/**
 * Maps repository locations (`--repo`) to Storage drivers by URL scheme.
 * A location without a scheme is a local path (see `location.ts`); `file:`
 * and `memory:` are registered by default, remote drivers register themselves
 * on import.
 *
 * @module
 */

import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { Storage, StorageFactory, StorageOptions } from './contract.js';
import { createLocalStorage } from './drivers/local/index.js';
import { createMemoryStorage } from './drivers/memory/index.js';
import { retryingFactory } from './middleware/index.js';
import { describeLocation, parseLocation } from './location.js';

const factories = new Map<string, StorageFactory>();

/** Network drivers: opened and used through RetryingStorage (transient failures are retried). */
const REMOTE_SCHEMES = new Set(['sftp', 's3', 'lifeboat+http', 'lifeboat+https']);

function normalizeScheme(scheme: string): string {
  const s = scheme.toLowerCase().replace(/:$/, '');
  if (!/^[a-z][a-z0-9+.-]*$/.test(s))
    throw new LifeboatError(ErrorCode.Usage, `invalid URL scheme ${JSON.stringify(scheme)}`);
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

/** Opens the Storage for a path or URL. Unknown schemes are a usage error. */
export async function openStorage(location: string, options: StorageOptions = {}): Promise<Storage> {
  const url = parseLocation(location);
  const scheme = url.protocol.slice(0, -1);
  const factory = factories.get(scheme);
  if (!factory) {
    throw new LifeboatError(
      ErrorCode.Usage,
      `unsupported repository location scheme '${scheme}:' in ${describeLocation(location)}`,
      {
        hint: `supported schemes: ${registeredSchemes().join(', ')}, or a plain directory path`,
        context: { scheme },
      },
    );
  }
  return REMOTE_SCHEMES.has(scheme) ? retryingFactory(factory)(url, options) : factory(url, options);
}

registerStorage('file', createLocalStorage);
registerStorage('memory', createMemoryStorage);
// Loaded on first use: the AWS SDK is large and most runs never touch S3.
registerStorage('s3', async (url, options) => (await import('./drivers/s3/index.js')).createS3Storage(url, options));
registerStorage('sftp', async (url, options) =>
  (await import('./drivers/sftp/index.js')).createSftpStorage(url, options),
);
// A repository served by `lifeboat serve-repository`; the scheme says the transport.
for (const scheme of ['lifeboat+http', 'lifeboat+https'])
  registerStorage(scheme, async (url, options) =>
    (await import('./drivers/http/index.js')).createHttpStorage(url, options),
  );
