import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentOwner, type Owner } from '../../src/leftovers/owner.js';
import { OWNER_FILE } from '../../src/leftovers/temp-dir.js';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';
import { configIn } from '../helpers/leftovers.js';

/**
 * verify, drill, backup --source and run first remove what killed processes
 * left (here a run directory whose owner has ended), and never what a running
 * process uses.
 */
describe('the sweep before verify, drill, backup --source and run', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let tmp: string;
  const lb = (args: string[]): Promise<CliResult> =>
    runCli(['--config', config, ...args], { env: cliEnvFor(path.join(dir, 'cache'), undefined, { TMPDIR: tmp }) });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;

  /** A run directory in the temp base whose owner file names `owner`. */
  function runDir(owner: Owner): string {
    const made = mkdtempSync(path.join(tmp, 'lifeboat-verify-'));
    writeFileSync(path.join(made, OWNER_FILE), JSON.stringify({ format: 1, owner }));
    writeFileSync(path.join(made, 'restored.db'), 'a restored copy');
    return made;
  }

  async function endedProcess(): Promise<Owner> {
    const child = spawn('true');
    await once(child, 'exit');
    return { ...currentOwner(), pid: child.pid!, start: 1 };
  }

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-leftovers-start-'));
    const db = new Database(path.join(dir, 'app.db'));
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a');");
    db.close();
    tmp = path.join(dir, 'tmp');
    mkdirSync(tmp);
    config = configIn(
      dir,
      'lifeboat.yaml',
      `  app-db: { type: sqlite, path: app.db }\njobs:\n  nightly: { sources: [app-db], to: local }\n`,
    );
    expect((await lb(['init', '--repo', 'local'])).code).toBe(0);
  }, 60_000);
  afterAll(() => cleanup?.());

  it.each([
    ['backup --source', ['backup', '--source', 'app-db']],
    ['verify', ['verify', 'latest', '--source', 'app-db']],
    ['drill', ['drill', '--source', 'app-db']],
    ['run', ['run', 'nightly']],
  ])(
    "%s removes a killed process's run directory first, and keeps a running one's",
    async (_what, args) => {
      const left = runDir(await endedProcess());
      const live = runDir(currentOwner());
      const r = await lb(['--verbose', ...args]);
      expect(r.code, show(r)).toBe(0);
      expect(r.stderr).toContain(`removed directory ${left}, left by process`);
      expect(existsSync(left)).toBe(false);
      expect(existsSync(live)).toBe(true);
    },
    60_000,
  );
});
