import type { LifeboatConfig } from '../config/schema.js';
import { redactUrlsInText } from '../util/redact-url.js';

/**
 * Scrubs what the API and notifications show: the configured paths of secret
 * files (password, key, credentials, identity, SMTP URL, token, webhook
 * secret) become `[secret file]`, and a password in any URL becomes `***` (secret-looking query
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
    else if (n.type === 'webhook')
      for (const p of [n.url_file, n.secret_file])
        if (p) paths.add(p);
        else if (n.url_file) paths.add(n.url_file);
  }
  if (config.server?.token_file) paths.add(config.server.token_file);
  const ordered = [...paths].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const p of ordered) out = out.split(p).join('[secret file]');
    return redactUrlsInText(out);
  };
}
