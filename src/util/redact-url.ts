/**
 * The one place that knows what of a URL is secret: the password of
 * `scheme://user:password@host` always, the user name where a URL is shown
 * rather than used, and the values of query parameters whose names say they
 * are secrets (`?secret_key=…`, `?token=…`, `?sslpassword=…`).
 *
 * @module
 */

/** Query parameters whose values are secrets, by their names. */
export const SECRET_QUERY_PARAM = /pass|secret|token|key|credential|signature/i;

/** `url` without user name and password, and with the value of every secret-looking query parameter replaced by `redacted`. */
export function redactUrl(url: URL): URL {
  const out = new URL(url.href);
  out.username = '';
  out.password = '';
  for (const key of [...out.searchParams.keys()]) {
    if (SECRET_QUERY_PARAM.test(key)) out.searchParams.set(key, 'redacted');
  }
  return out;
}

/** Anything that starts like a URL with an authority, up to the next white space. */
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/\S*/gi;
/** `scheme://user:password@` (either part may be empty). */
const USERINFO_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*):[^\s@/]*@/i;
/** One `name=value` of a query string; the value stops at punctuation that ends a URL in prose. */
const QUERY_PARAM = /([?&])([^=&#\s]*)=([^&#\s)"'<>,;]*)/g;

/**
 * Free text (an error message, a log line) with every URL in it redacted:
 * its password replaced by `passwordShownAs` (`user:***@` by default; `''`
 * gives `user@`) and the values of secret-looking query parameters by
 * `redacted`. The rest of the text is left as it is.
 */
export function redactUrlsInText(text: string, passwordShownAs = ':***'): string {
  return text.replace(URL_IN_TEXT, (url) =>
    url
      .replace(USERINFO_PASSWORD, (_m, head: string) => `${head}${passwordShownAs}@`)
      .replace(QUERY_PARAM, (m, sep: string, name: string) =>
        SECRET_QUERY_PARAM.test(name) ? `${sep}${name}=redacted` : m,
      ),
  );
}
