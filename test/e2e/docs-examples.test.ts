import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, cliEnv, tempDir } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';

/**
 * The examples of docs/sources/*.md run as written. For each source type whose
 * examples need no external server (files, sqlite, command), the page's own
 * configuration block is the configuration, and every shell line of the page
 * that starts with `lifeboat` is run after a backup of that configuration.
 *
 * The section "Continuous protection" of the sqlite page is left out here: its
 * restore to a point in time needs a replicator that has run and a time inside
 * its window, which test/e2e/sqlite-continuous.test.ts provides.
 *
 * What the test changes, and only that: absolute paths under /etc, /srv and
 * /var move below a temp directory (the snapshots mirror those paths, so
 * `dump latest /etc/app/…` moves with them); the page's example age recipient
 * becomes one whose identity the test holds (`offline-key.txt`, the name the
 * page uses); a repository is added; and `vault`, which the command page's
 * example runs, is a small script that writes to the path it is given, as the
 * real one does with `/dev/stdout`.
 */

interface Page {
  type: string;
  config: string;
  commands: string[];
}

function readPage(type: string): Page {
  const whole = readFileSync(path.join(ROOT, 'docs', 'sources', `${type}.md`), 'utf8');
  // The sqlite page's continuous-protection examples need a replicator that has run for a while and a
  // time inside its window; test/e2e/sqlite-continuous.test.ts runs those commands instead.
  const text = whole.split(/^## Continuous protection$/m)[0]!;
  const blocks = [...text.matchAll(/^```(\w+)\n([\s\S]*?)^```/gm)].map((m) => ({ lang: m[1]!, body: m[2]! }));
  const config = blocks.find((b) => b.lang === 'yaml')?.body;
  if (!config) throw new Error(`docs/sources/${type}.md has no yaml block`);
  const commands = blocks
    .filter((b) => b.lang === 'sh' || b.lang === 'bash')
    .flatMap((b) => b.body.split('\n'))
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l.startsWith('lifeboat '));
  return { type, config, commands };
}

/** Moves /etc, /srv and /var paths below `root` (not snapshot-only paths such as /command/…). */
function relocate(text: string, root: string): string {
  return text.replace(
    /(^|[\s"'[(=,])\/(etc|srv|var)\//gm,
    (_m, before: string, top: string) => `${before}${root}/${top}/`,
  );
}

/** The destination a restore line writes to (`--target` or `--to-file`), to start each example afresh. */
function destinationOf(line: string): string | undefined {
  return /--(?:target|to-file)\s+(\S+)/.exec(line)?.[1];
}

describe('the examples of docs/sources run as written', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let root: string;
  let bin: string;
  let recipient: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-docs-examples-'));
    root = path.join(dir, 'root');
    bin = path.join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'lifeboat'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`, { mode: 0o755 });
    // `vault operator raft snapshot save PATH` writes the snapshot to PATH (the docs use /dev/stdout);
    // `… restore FILE` reads it back. Only what the page's example runs.
    writeFileSync(
      path.join(bin, 'vault'),
      `#!/bin/sh
set -e
case "$1 $2 $3 $4" in
  "operator raft snapshot save") printf 'raft snapshot of the example cluster\\n' > "$5" ;;
  "operator raft snapshot restore") grep -q 'raft snapshot of the example cluster' "$5"; cp "$5" "${dir}/vault-restored" ;;
  *) echo "vault: unexpected arguments: $*" >&2; exit 64 ;;
esac
`,
      { mode: 0o755 },
    );
    const keygen = spawnSync('age-keygen', ['-o', path.join(dir, 'offline-key.txt')], { encoding: 'utf8' });
    recipient = /Public key: (age1[0-9a-z]+)/.exec(keygen.stderr)![1]!;
    // The data the pages' configurations name.
    mkdirSync(path.join(root, 'etc/app/cache'), { recursive: true });
    mkdirSync(path.join(root, 'srv/app'), { recursive: true });
    mkdirSync(path.join(root, 'var/lib/app'), { recursive: true });
    writeFileSync(path.join(root, 'etc/app/app.yaml'), 'port: 8080\n');
    writeFileSync(path.join(root, 'etc/app/secrets.yaml'), 'token: example-secret\n', { mode: 0o600 });
    writeFileSync(path.join(root, 'etc/app/tls.key'), 'example key\n', { mode: 0o600 });
    writeFileSync(path.join(root, 'etc/app/cache/page.tmp'), 'cached\n');
    writeFileSync(path.join(root, 'srv/app/site.conf'), 'server_name example;\n');
    const db = new Database(path.join(root, 'var/lib/app/app.db'));
    db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('a'), ('b');");
    db.close();
    writeFileSync(path.join(dir, 'repo.pass'), 'a long repository passphrase\n', { mode: 0o600 });
    chmodSync(dir, 0o700);
  });
  afterAll(() => cleanup());

  const sh = (line: string, config: string, cache: string) =>
    spawnSync('bash', ['-o', 'pipefail', '-c', line], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 180_000,
      env: cliEnv({ ...cliEnvFor(cache, undefined, { LIFEBOAT_CONFIG: config }), PATH: `${bin}:${process.env.PATH}` }),
    });

  for (const type of ['files', 'sqlite', 'command']) {
    it(`docs/sources/${type}.md`, () => {
      const page = readPage(type);
      expect(page.commands.length, `docs/sources/${type}.md has no lifeboat example`).toBeGreaterThan(0);
      const repo = path.join(dir, `repo-${type}`);
      const cache = path.join(dir, `cache-${type}`);
      const config = path.join(dir, `${type}.yaml`);
      const body = relocate(page.config, root).replace(/age1[0-9a-z]{58}/g, recipient);
      writeFileSync(config, `version: 1\nrepositories:\n  local: { url: ${repo}, password_file: repo.pass }\n${body}`);
      const run = (line: string) => {
        const r = sh(line, config, cache);
        expect(r.status, `${line}\nexit ${r.status}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`).toBe(0);
        return r;
      };
      run('lifeboat config validate');
      run('lifeboat init --repo local');
      run('lifeboat backup --source all');
      for (const example of page.commands) {
        const line = relocate(example, root);
        const dest = destinationOf(line);
        if (dest) rmSync(path.resolve(dir, dest), { recursive: true, force: true });
        run(line);
      }
      if (type === 'files') {
        // The sealed secret opened with the offline identity, through the page's `dump … | age -d` line.
        const opened = sh(
          relocate(
            page.commands.find((c) => c.includes('| age -d'))!,
            root,
          ),
          config,
          cache,
        );
        expect(opened.stdout).toBe('token: example-secret\n');
      }
      if (type === 'command')
        expect(readFileSync(path.join(dir, 'vault-restored'), 'utf8')).toBe('raft snapshot of the example cluster\n');
    });
  }
});
