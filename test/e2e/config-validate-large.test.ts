import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors/index.js';
import { startCli, tempDir } from '../helpers/cli.js';

/**
 * `config validate` on a very large file: a SIGTERM ends it, although
 * validating holds the event loop (a JavaScript signal handler would only run
 * once validation is done, and then only print "valid").
 */

let dir: string;
let cleanup: () => Promise<void>;
let file: string;

/** 200,000 sources and one job naming them all (about 13 MB): seconds of parsing even when linear. */
function largeConfig(sources: number): string {
  const lines = ['version: 1', 'repositories:', '  local:', '    url: /srv/repo', 'sources:'];
  for (let i = 0; i < sources; i++) lines.push(`  s${i}:`, '    type: files', `    paths: [/data/${i}]`);
  lines.push('jobs:', '  all:', '    to: local', '    sources:');
  for (let i = 0; i < sources; i++) lines.push(`      - s${i}`);
  return lines.join('\n') + '\n';
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lifeboat-config-large-'));
  file = path.join(dir, 'lifeboat.yaml');
  writeFileSync(file, largeConfig(200_000));
});

afterAll(async () => cleanup?.());

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0; // already gone
  }
}

describe('config validate on a very large file', () => {
  it('ends on SIGTERM while it validates, without claiming the file valid', async () => {
    const child = startCli(['config', 'validate', file], { env: { LIFEBOAT_CONFIG: undefined } });
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stdin!.end();
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    // Validation has begun once the process holds far more memory than a started CLI (about 70 MB):
    // parsing this file takes gigabytes. From then on, SIGTERM again and again.
    let sent = 0;
    const timer = setInterval(() => {
      if (sent === 0 && rssMb(child.pid!) < 400) return;
      sent++;
      child.kill('SIGTERM');
    }, 100);
    const { code, signal } = await ended.finally(() => clearInterval(timer));
    expect(sent).toBeGreaterThan(0);
    expect(stdout).not.toContain('is valid');
    expect(signal === 'SIGTERM' || code === ExitCode.Interrupted, `exit ${code} ${signal}`).toBe(true);
  }, 300_000);
});
