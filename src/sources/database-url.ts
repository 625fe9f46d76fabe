import { ErrorCode, LifeboatError } from '../errors/index.js';

/** The parts of a database URL (`scheme://user[:password]@host[:port]/database?…`) a source needs. */
export interface DatabaseUrl {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
  params: URLSearchParams;
}

/**
 * Parse a postgres:// or mysql:// URL with the server's defaults; `database`
 * is empty when the URL names none (the whole server). Messages
 * never repeat the URL: it may carry a password.
 */
export function parseDatabaseUrl(
  url: string,
  kind: string,
  defaults: { host: string; port: number; user: string },
): DatabaseUrl {
  const example = `${kind}://user@host:${defaults.port}/database`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new LifeboatError(ErrorCode.Config, `the ${kind} url is not a valid URL`, { hint: `write it as ${example}` });
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const host = decodeURIComponent(parsed.hostname) || defaults.host;
  return {
    host: host.startsWith('[') ? host.slice(1, -1) : host,
    port: parsed.port ? Number(parsed.port) : defaults.port,
    user: decodeURIComponent(parsed.username) || defaults.user,
    database,
    params: parsed.searchParams,
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
  };
}
