import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpServer } from '../../../test/helpers/servers/smtp.js';
import { emailNotifier } from './email.js';

/**
 * The email notifier against a real SMTP server that offers STARTTLS and
 * refuses mail over plain text: nodemailer upgrades on its own on a non-465
 * port, `?requireTLS=true` in the SMTP URL insists on it, and a client that
 * skips TLS is refused — so delivery proves the upgrade happened.
 */
describe('email notifier: STARTTLS', () => {
  let dir: string;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  const urlFile = (name: string, query: string) => {
    const f = path.join(dir, name);
    writeFileSync(f, `smtp://127.0.0.1:${smtp.port}/?${query}\n`, { mode: 0o600 });
    return f;
  };
  const n = {
    event: 'failure' as const,
    summary: 'FAILURE backup_failed db @ local',
    host: 'h',
    time: new Date().toISOString(),
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-starttls-'));
    const [cert, key] = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')];
    const made = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
      ],
      { encoding: 'utf8' },
    );
    expect(made.status, made.stderr).toBe(0);
    smtp = await startSmtpServer(dir, { tls: { cert, key } });
  });
  afterAll(async () => {
    await smtp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('upgrades with STARTTLS when offered, and with requireTLS', async () => {
    // The test server's certificate is self-signed; a real server's is checked against the system CAs.
    await emailNotifier(
      { smtp_url_file: urlFile('opportunistic.url', 'tls.rejectUnauthorized=false'), to: ['ops@example.com'] },
      { attempts: 1, baseDelayMs: 1 },
    ).send(n);
    await emailNotifier(
      {
        smtp_url_file: urlFile('required.url', 'requireTLS=true&tls.rejectUnauthorized=false'),
        to: ['ops@example.com'],
      },
      { attempts: 1, baseDelayMs: 1 },
    ).send(n);
    expect(smtp.messages()).toHaveLength(2);
    expect(smtp.messages()[0]).toContain('Subject: [lifeboat] FAILURE backup_failed db @ local');
  });

  it('a client that skips STARTTLS is refused, and the error shows only the host', async () => {
    const plain = emailNotifier(
      { smtp_url_file: urlFile('plain.url', 'ignoreTLS=true'), to: ['ops@example.com'] },
      { attempts: 1, baseDelayMs: 1 },
    );
    const err = await plain.send(n).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/^smtp 127\.0\.0\.1:\d+: .*(STARTTLS|530)/i);
    expect(err?.message).not.toContain('smtp://');
    expect(smtp.messages()).toHaveLength(2);
  });
});
