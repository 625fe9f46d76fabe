import type { z } from 'zod';

/**
 * What can be known to fail about a repository URL without opening it,
 * checked when the config is loaded (`config validate`) instead of at the
 * first backup: a URL that does not parse, and an sftp:// URL with a password
 * or without a host (the SFTP driver refuses both). Messages never repeat
 * the URL, which may hold a password.
 */
export function repositoryUrlIssues(url: string, ctx: z.RefinementCtx): void {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return; // a plain path
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: 'not a valid URL; write a path, file:///path, sftp://user@host[:port]/path or s3://bucket/prefix',
    });
    return;
  }
  if (parsed.protocol !== 'sftp:') return;
  if (parsed.password !== '') {
    ctx.addIssue({
      code: 'custom',
      message:
        'a password in an sftp:// URL is refused; use identity_file, the keys in ~/.ssh, an ssh-agent or sftp_password_file',
    });
  }
  if (parsed.hostname === '')
    ctx.addIssue({ code: 'custom', message: 'the sftp:// URL names no host; write sftp://user@host[:port]/path' });
}
