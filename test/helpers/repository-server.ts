import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { runCli, startCli } from './cli.js';

/** `lifeboat serve-repository` run by the built CLI, for end-to-end and fault tests. */
export interface ServedRepository {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

/** `token add` through the CLI; the token is written to `<dir>/<name>.token` (0600) and its path returned. */
export async function addServerToken(
  stateDir: string,
  dir: string,
  name: string,
  role: 'admin' | 'append',
  quota?: string,
): Promise<string> {
  const r = await runCli([
    '--json',
    'serve-repository',
    'token',
    'add',
    '--name',
    name,
    '--role',
    role,
    '--state-dir',
    stateDir,
    ...(quota ? ['--quota', quota] : []),
  ]);
  if (r.code !== 0) throw new Error(`token add failed: ${r.stderr}`);
  const file = path.join(dir, `${name}.token`);
  writeFileSync(file, `${(JSON.parse(r.stdout) as { token: string }).token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

/** Starts the server and resolves with its URL once it listens (or rejects with its stderr when it exits). */
export function serveRepository(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<ServedRepository> {
  const child = startCli(['--json', 'serve-repository', ...args], { env });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`serve-repository exited with ${code}: ${err}`)));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"listening"'));
      if (!line) return;
      const url = (JSON.parse(line) as { url: string }).url;
      resolve({
        url,
        child,
        stderr: () => err,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
  });
}
