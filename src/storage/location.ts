/**
 * Repository locations (`--repo`): a plain path or a URL with a scheme, parsed
 * into a URL, and shown without credentials in logs and messages. A file of its
 * own so that a driver that shows its location (the SFTP URL parser) does not
 * import the registry that loads that driver.
 *
 * @module
 */

import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { redactUrl } from '../util/redact-url.js';

/** `sftp://…`, `s3:…`; single letters excluded so `C:\repo` stays a path. */
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]+):/;

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
