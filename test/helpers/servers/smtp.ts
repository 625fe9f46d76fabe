import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort, waitUntil } from './free-port.js';

/**
 * A real SMTP server: Debian's python3-aiosmtpd, delivering every message into
 * a Maildir. `messages()` returns the raw RFC 5322 text of each one. With
 * `tls` (PEM certificate and key files) it offers STARTTLS and refuses mail
 * until the client has switched to TLS.
 */
export async function startSmtpServer(
  dir: string,
  options: { tls?: { cert: string; key: string } } = {},
): Promise<{ port: number; messages: () => string[]; stop: () => Promise<void> }> {
  const port = await freePort();
  const maildir = path.join(dir, 'maildir');
  // Maildir's tmp/new/cur are made by Python's mailbox module only when the folder does not exist yet.
  for (const sub of ['tmp', 'new', 'cur']) mkdirSync(path.join(maildir, sub), { recursive: true });
  const child: ChildProcess = spawn(
    '/usr/bin/python3',
    [
      '-m',
      'aiosmtpd',
      '-n',
      '-l',
      `127.0.0.1:${port}`,
      ...(options.tls ? ['--tlscert', options.tls.cert, '--tlskey', options.tls.key] : []),
      '-c',
      'aiosmtpd.handlers.Mailbox',
      maildir,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  await waitUntil(
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
        s.on('error', () => resolve(false));
      }),
    15_000,
    async () => stderr,
  );
  const messages = () => {
    const out: string[] = [];
    for (const sub of ['new', 'cur']) {
      const d = path.join(maildir, sub);
      try {
        for (const f of readdirSync(d).sort()) out.push(readFileSync(path.join(d, f), 'utf8'));
      } catch {
        // the Maildir folders appear with the first message
      }
    }
    return out;
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { port, messages, stop };
}
