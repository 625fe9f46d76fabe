import type { LifeboatConfig } from '../config/schema.js';
import { redactUrlsInText } from '../util/redact-url.js';

/**
 * The paths (with their queries) of notifier URLs written in the config: a
 * chat webhook's or a ping's path is its token, so only its host may show.
 */
function secretUrlParts(config: LifeboatConfig): string[] {
  const parts = new Set<string>();
  for (const n of config.notify ?? []) {
    const url = 'url' in n && n.type !== 'gotify' ? n.url : undefined;
    if (!url) continue;
    try {
      const u = new URL(url);
      if (u.pathname.length > 1 || u.search) parts.add(`${u.pathname}${u.search}`);
    } catch {
      // the schema accepted only valid URLs
    }
  }
  return [...parts].sort((a, b) => b.length - a.length);
}

/**
 * Scrubs what the API and notifications show: the configured paths of secret
 * files (password, key, credentials, identity, SMTP URL, token, webhook
 * secret) become `[secret file]`, the path of a notifier URL in the config
 * (a chat webhook's or ping's token) `/[secret]`, and a password in any URL becomes `***` (secret-looking query
 * values `redacted`: `redactUrlsInText`).
 * Error messages from lower layers may name those files; nothing else needs
 * hiding because secrets themselves are never put into messages.
 */
export function redactorFor(config: LifeboatConfig, extraPaths: string[] = []): (text: string) => string {
  const paths = new Set<string>(extraPaths);
  for (const r of Object.values(config.repositories ?? {})) {
    for (const p of [
      r.password_file,
      r.key_file,
      r.credentials_file,
      r.identity_file,
      r.sftp_password_file,
      r.known_hosts,
    ])
      if (p) paths.add(p);
  }
  for (const n of config.notify ?? []) {
    if (n.type === 'email') paths.add(n.smtp_url_file);
    else if (n.type === 'gotify') paths.add(n.token_file);
    else if (n.type === 'matrix') paths.add(n.access_token_file);
    else if (n.type !== 'ping' || n.url_file) {
      const files =
        n.type === 'webhook'
          ? [n.url_file, n.secret_file]
          : n.type === 'ntfy'
            ? [n.url_file, n.token_file]
            : [n.url_file];
      for (const p of files) if (p) paths.add(p);
    }
  }
  if (config.server?.token_file) paths.add(config.server.token_file);
  const ordered = [...paths].sort((a, b) => b.length - a.length);
  const urls = secretUrlParts(config);
  return (text) => {
    let out = text;
    for (const p of ordered) out = out.split(p).join('[secret file]');
    for (const p of urls) out = out.split(p).join('/[secret]');
    return redactUrlsInText(out);
  };
}
