/**
 * URLs as the pack may show them. A password never survives; query strings
 * and fragments never do either (`?sslpassword=…`, `?token=…`). What else is
 * kept depends on the URL's job: a database or SFTP login name is needed to
 * reconnect, but webhook and ping URLs carry their tokens in the path, so only
 * their scheme and host are shown.
 *
 * @module
 */

import { redactUrlsInText } from '../util/redact-url.js';

export interface PublicUrlOptions {
  /** Keep the user name (database and SFTP logins); default false. */
  user?: boolean;
  /** Keep the path (bucket prefixes, database names); default true. */
  path?: boolean;
}

/** Whether a location is a URL rather than a plain path. */
export function hasScheme(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(text);
}

export function publicUrl(text: string, options: PublicUrlOptions = {}): string {
  if (!hasScheme(text)) return text; // a plain path
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `${text.split(':')[0]}://(not shown: not a valid URL)`;
  }
  const user = options.user && url.username ? `${url.username}@` : '';
  const keepPath = options.path ?? true;
  // Opaque URLs (`mailto:`) have no host; show only their scheme.
  if (!url.host && !url.pathname.startsWith('/')) return `${url.protocol}(not shown)`;
  const host = url.host;
  const tail = keepPath && url.pathname !== '/' ? url.pathname : '';
  return `${url.protocol}//${user}${host}${tail}`;
}

/** scheme://host[:port]: all a webhook or ping URL may show. */
export function originOf(text: string): string {
  return publicUrl(text, { user: false, path: false });
}

/** Free text (an error message) with the password of any `scheme://user:password@host` in it removed (and secret query values). */
export function withoutUrlPasswords(text: string): string {
  return redactUrlsInText(text, '');
}
