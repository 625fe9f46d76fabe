import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';

/**
 * Key roles with the real CLI on a real local repository: an admin adds an
 * `append` key; backups and restores with it work; every command that deletes
 * or replaces objects is refused with `role_refused` (exit 1) and leaves every
 * stored object as it was; the admin can still do all of them; `key list`
 * shows roles; a repository written before roles existed opens as admin.
 */
describe('key roles', () => {
  const ADMIN = 'the admin passphrase of this repository';
  const APPEND = 'the passphrase of the web-1 append key';
  let dir: string;
  let repo: string;
  let data: string;
  let cleanup: () => Promise<void>;
  const lb = (password: string, args: string[], extra: Record<string, string> = {}) =>
    runCli(['--repo', repo, ...args], {
      env: cliEnvFor(path.join(dir, 'cache'), password, { LIFEBOAT_STATE_DIR: path.join(dir, 'state'), ...extra }),
    });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;
  const ok = async (password: string, args: string[], extra: Record<string, string> = {}) => {
    const r = await lb(password, args, extra);
    expect(r.code, show(r)).toBe(0);
    return r;
  };
  const lastLine = <T>(r: CliResult) => JSON.parse(r.stdout.trim().split('\n').at(-1)!) as T;
  const snapshots = async (password = ADMIN) =>
    (JSON.parse((await ok(password, ['--json', 'snapshots'])).stdout) as { snapshots: Array<{ id: string }> })
      .snapshots;
  /** Every stored object by name with the SHA-256 of its bytes. */
  const storedObjects = () => {
    const out: Record<string, string> = {};
    const walk = (rel: string) => {
      for (const e of readdirSync(path.join(repo, rel), { withFileTypes: true })) {
        const p = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(p);
        else
          out[p] = createHash('sha256')
            .update(readFileSync(path.join(repo, p)))
            .digest('hex');
      }
    };
    walk('');
    return out;
  };
  type KeyRow = { id: string; role?: string; current: boolean; label?: string };
  const keyList = async (password: string) =>
    lastLine<{ keys: KeyRow[] }>(await ok(password, ['--json', 'key', 'list'])).keys;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-key-roles-'));
    repo = path.join(dir, 'repo');
    data = path.join(dir, 'data');
    mkdirSync(data);
    writeFileSync(path.join(data, 'a.txt'), 'first version\n');
    await ok(ADMIN, ['init']);
    await ok(ADMIN, ['backup', data]);
  });
  afterAll(() => cleanup());

  it('key add --role append adds an append key and says so; without --role it says the default is admin', async () => {
    const r = await ok(ADMIN, ['key', 'add', '--role', 'append', '--label', 'web-1'], {
      LIFEBOAT_NEW_PASSWORD: APPEND,
    });
    expect(r.stdout + r.stderr).toMatch(/added key [0-9a-f]{8} with role append/);
    const json = await ok(ADMIN, ['--json', 'key', 'add', '--label', 'spare admin'], {
      LIFEBOAT_NEW_PASSWORD: 'a spare admin passphrase',
    });
    expect(lastLine<{ role: string }>(json).role).toBe('admin');
    const text = await ok(ADMIN, ['key', 'add', '--label', 'another admin'], {
      LIFEBOAT_NEW_PASSWORD: 'another admin passphrase',
    });
    expect(text.stdout + text.stderr).toContain('with role admin (the default');
    const bad = await lb(ADMIN, ['key', 'add', '--role', 'root'], { LIFEBOAT_NEW_PASSWORD: 'x' });
    expect(bad.code, show(bad)).toBe(2);
  });

  it('key list shows each role, in the table and with --json', async () => {
    const asAdmin = await keyList(ADMIN);
    expect(asAdmin.find((k) => k.label === 'web-1')?.role).toBe('append');
    expect(asAdmin.filter((k) => k.role === 'admin')).toHaveLength(3);
    expect(asAdmin.find((k) => k.current)?.role).toBe('admin');
    const asAppend = await keyList(APPEND);
    expect(asAppend.find((k) => k.current)).toMatchObject({ label: 'web-1', role: 'append' });
    const table = await ok(APPEND, ['key', 'list']);
    expect(table.stdout).toMatch(/ROLE/);
    expect(table.stdout).toMatch(/\bappend\b.*web-1/);
  });

  it('an append key backs up, lists and restores', async () => {
    writeFileSync(path.join(data, 'a.txt'), 'second version, written by the append host\n');
    await ok(APPEND, ['backup', data]);
    const list = await snapshots(APPEND);
    expect(list).toHaveLength(2);
    const target = path.join(dir, 'restored-by-append');
    await ok(APPEND, ['restore', list[1]!.id, '--target', target]);
    const restored = readdirSync(target, { recursive: true, withFileTypes: true }).find((e) => e.name === 'a.txt')!;
    expect(readFileSync(path.join(restored.parentPath, 'a.txt'), 'utf8')).toBe(
      'second version, written by the append host\n',
    );
  });

  it('every deleting or replacing command is refused for the append key with role_refused, and nothing stored changes', async () => {
    const list = await snapshots();
    const before = storedObjects();
    const refused: string[][] = [
      ['prune'],
      ['tag', list[0]!.id, '--add', 'x'],
      ['key', 'add'],
      ['key', 'add', '--role', 'append'],
      ['key', 'remove', (await keyList(ADMIN)).find((k) => k.label === 'spare admin')!.id],
      ['key', 'passwd'],
      ['unlock', '--remove-all'],
      ['repair', 'index'],
      ['repair', 'snapshots'],
    ];
    for (const args of refused) {
      const r = await lb(APPEND, ['--json', ...args], { LIFEBOAT_NEW_PASSWORD: 'would be a new passphrase' });
      expect(r.code, `${args.join(' ')}: ${show(r)}`).toBe(1);
      expect(r.stdout + r.stderr, args.join(' ')).toContain('role_refused');
      const text = await lb(APPEND, args, { LIFEBOAT_NEW_PASSWORD: 'would be a new passphrase' });
      expect(text.code).toBe(1);
      expect(text.stderr, args.join(' ')).toContain('admin key');
    }
    expect(storedObjects()).toEqual(before);
    expect(await snapshots()).toEqual(list);
  }, 300_000); // 18 CLI runs: generous for a loaded machine, not a speed bound

  it('forget with the append key writes forget requests and changes no stored object; the admin prune applies them', async () => {
    const list = await snapshots();
    expect(list).toHaveLength(2);
    const before = storedObjects();
    const r = await ok(APPEND, ['--json', 'forget', '--keep-last', '1']);
    const summary = lastLine<{ removed: unknown[]; requested: Array<{ snapshot: string; written: boolean }> }>(r);
    expect(summary.removed).toEqual([]);
    expect(summary.requested).toEqual([expect.objectContaining({ snapshot: list[0]!.id, written: true })]);
    const after = storedObjects();
    for (const [name, sha] of Object.entries(before)) expect(after[name], name).toBe(sha);
    expect(Object.keys(after).filter((n) => !(n in before))).toEqual([`forget-requests/${list[0]!.id}`]);
    // Visible as "forget requested" in snapshots (table and JSON) and in the plan of a dry run.
    const table = await ok(ADMIN, ['snapshots']);
    expect(table.stdout.split('\n').find((l) => l.startsWith(list[0]!.id.slice(0, 8)))).toContain('forget requested');
    const json = (await snapshots()) as Array<{ id: string; forgetRequested?: boolean }>;
    expect(json.find((s) => s.id === list[0]!.id)?.forgetRequested).toBe(true);
    expect(json.find((s) => s.id === list[1]!.id)?.forgetRequested).toBeUndefined();
    const dry = await ok(ADMIN, ['forget', '--dry-run', '--keep-last', '5']);
    expect(dry.stdout + dry.stderr).toMatch(new RegExp(`${list[0]!.id.slice(0, 8)}.*\\(forget requested\\)`));
    expect(dry.stdout + dry.stderr).toContain(`would forget ${list[0]!.id.slice(0, 8)}`);
    expect(storedObjects()).toEqual(after);
    const prune = await ok(ADMIN, ['--json', 'prune']);
    const applied = lastLine<{ forgetRequests: { applied: Array<{ snapshot: string }>; declined: unknown[] } }>(prune);
    expect(applied.forgetRequests.applied.map((a) => a.snapshot)).toEqual([list[0]!.id]);
    expect(applied.forgetRequests.declined).toEqual([]);
    expect((await snapshots()).map((s) => s.id)).toEqual([list[1]!.id]);
    expect(Object.keys(storedObjects()).filter((n) => n.startsWith('forget-requests/'))).toEqual([]);
  });

  it('the admin key can still tag, forget, prune and remove the append key', async () => {
    const list = await snapshots();
    await ok(ADMIN, ['tag', list[0]!.id, '--add', 'kept']);
    await ok(ADMIN, ['forget', '--keep-last', '1']);
    expect(await snapshots()).toHaveLength(1);
    await ok(ADMIN, ['prune']);
    const web1 = (await keyList(ADMIN)).find((k) => k.label === 'web-1')!;
    await ok(ADMIN, ['key', 'remove', web1.id]);
    const gone = await lb(APPEND, ['snapshots']);
    expect(gone.code, show(gone)).toBe(12);
  });

  it('a repository written before key roles (the frozen format-v1 fixture) opens as admin', async () => {
    const fixture = path.join(ROOT, 'test/fixtures/format-v1');
    const old = path.join(dir, 'old-repository');
    cpSync(path.join(fixture, 'repository'), old, { recursive: true });
    const password = readFileSync(path.join(fixture, 'password.txt'), 'utf8').replace(/\r?\n$/, '');
    const r = await runCli(['--repo', old, '--json', 'key', 'list'], {
      env: cliEnvFor(path.join(dir, 'cache-old'), password, { LIFEBOAT_STATE_DIR: path.join(dir, 'state-old') }),
    });
    expect(r.code, show(r)).toBe(0);
    const keys = lastLine<{ keys: KeyRow[] }>(r).keys;
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k.role).toBe('admin');
    expect(keys.find((k) => k.current)?.role).toBe('admin');
  });
});
