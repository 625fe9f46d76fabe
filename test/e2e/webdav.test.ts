import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, scanTree } from '../helpers/e2e.js';

/**
 * `lifeboat webdav` read by a real WebDAV client: rclone (its `:webdav:`
 * backend configured on the command line) lists a snapshot and copies it, and
 * the copy is compared byte for byte with the tree that was backed up. The
 * protocol edges (auth, depth, ranges, refused methods) are checked with plain
 * HTTP requests.
 */
describe('webdav', () => {
  const PASSWORD = 'a long repository passphrase';
  let dir: string;
  let data: string;
  let cleanup: () => Promise<void>;
  let server: ChildProcess;
  let url: string;
  let token: string;
  let config: string;
  let snapshotId: string;
  let snapshotTime: string;
  const env = () => cliEnvFor(path.join(dir, 'cache'), PASSWORD, { LIFEBOAT_STATE_DIR: path.join(dir, 'state') });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;
  const lb = async (args: string[]) => {
    const r = await runCli(['--config', config, ...args], { env: env() });
    expect(r.code, show(r)).toBe(0);
    return r;
  };
  const rclone = (args: string[]) => {
    const r = spawnSync(
      'rclone',
      [...args, `--webdav-url=${url}`, `--webdav-bearer-token=${token}`, '--config=/dev/null', '-q'],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    return r.stdout;
  };
  const dav = (method: string, urlPath: string, headers: Record<string, string> = {}) =>
    fetch(new URL(urlPath, url), { method, headers: { authorization: `Bearer ${token}`, ...headers } });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-webdav-'));
    data = path.join(dir, 'app');
    mkdirSync(path.join(data, 'nested', 'deeper'), { recursive: true });
    writeFileSync(path.join(data, 'big.bin'), randomBytes(3 * 1024 * 1024 + 17)); // several chunks
    writeFileSync(path.join(data, 'nested', 'name with spaces & ümlaut.txt'), 'hello webdav\n');
    writeFileSync(path.join(data, 'nested', 'deeper', 'empty'), '');
    writeFileSync(path.join(dir, 'repo.pass'), `${PASSWORD}\n`, { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1\nrepositories:\n  local: { url: ./repo, password_file: repo.pass }\nsources:\n  app: { type: files, paths: [app] }\n`,
    );
    await lb(['init', '--repo', 'local']);
    await lb(['backup', '--source', 'app']);
    const listed = JSON.parse((await lb(['--json', 'snapshots'])).stdout) as {
      snapshots: Array<{ id: string; time: string }>;
    };
    ({ id: snapshotId, time: snapshotTime } = listed.snapshots[0]!);

    server = startCli(['--config', config, '--json', 'webdav', '--listen', '127.0.0.1:0'], { env: env() });
    let stderr = '';
    server.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const line = out.split('\n').find((l) => l.includes('"listening"'));
        if (line) resolve((JSON.parse(line) as { url: string }).url);
      });
      server.on('exit', (code) => reject(new Error(`webdav exited with ${code}: ${stderr}`)));
    });
    token = readFileSync(path.join(dir, 'state', 'webdav.token'), 'utf8').trim();
  });
  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    await cleanup();
  });

  it('rclone lists the snapshots by id and by source and time, and copies one that matches the backed-up tree', () => {
    const top = JSON.parse(rclone(['lsjson', ':webdav:'])) as Array<{ Name: string; IsDir: boolean }>;
    expect(top.map((e) => [e.Name, e.IsDir]).sort()).toEqual(
      [
        ['app', true],
        [snapshotId, true],
      ].sort(),
    );
    const times = JSON.parse(rclone(['lsjson', ':webdav:app'])) as Array<{ Name: string }>;
    expect(times.map((e) => e.Name)).toEqual([snapshotTime]);

    const inside = `${snapshotId}${data}`;
    const files = JSON.parse(rclone(['lsjson', '-R', '--files-only', `:webdav:${inside}`])) as Array<{
      Path: string;
      Size: number;
    }>;
    expect(files.map((f) => [f.Path, f.Size]).sort()).toEqual([
      ['big.bin', 3 * 1024 * 1024 + 17],
      ['nested/deeper/empty', 0],
      ['nested/name with spaces & ümlaut.txt', 13],
    ]);

    const copy = path.join(dir, 'copy');
    rclone(['copy', `:webdav:app/${snapshotTime}${data}`, copy]);
    // Names, types and content are compared (rclone sets neither modes nor owners, and times to the second).
    const shape = (root: string) => [...scanTree(root)].map(([p, e]) => [p, e.type, e.size, e.sha256 ?? null]);
    expect(shape(copy)).toEqual(shape(data));
    expect(shape(copy)).toHaveLength(5); // 3 files and 2 directories
  });

  it('serves byte ranges and HEAD, needs the token, and refuses writes and infinite depth', async () => {
    const file = `/${snapshotId}${data}/big.bin`;
    const whole = readFileSync(path.join(data, 'big.bin'));
    const part = await dav('GET', file, { range: 'bytes=1048570-2097160' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1048570-2097160/${whole.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(1048570, 2097161))).toBe(true);
    const tail = await dav('GET', file, { range: 'bytes=-5' });
    expect(Buffer.from(await tail.arrayBuffer()).equals(whole.subarray(-5))).toBe(true);
    expect((await dav('GET', file, { range: `bytes=${whole.length}-` })).status).toBe(416);
    const head = await dav('HEAD', file);
    expect([head.status, head.headers.get('content-length'), head.headers.get('accept-ranges')]).toEqual([
      200,
      String(whole.length),
      'bytes',
    ]);

    const options = await dav('OPTIONS', '/');
    expect(options.headers.get('dav')).toBe('1');
    expect(options.headers.get('allow')).toBe('OPTIONS, PROPFIND, GET, HEAD');
    const depth0 = await dav('PROPFIND', `/${snapshotId}/`, { depth: '0' });
    expect(depth0.status).toBe(207);
    expect((await depth0.text()).match(/<D:response>/g)).toHaveLength(1);
    expect((await dav('PROPFIND', '/', { depth: 'infinity' })).status).toBe(403);
    expect((await dav('PROPFIND', `/${snapshotId}/no/such/path`, { depth: '0' })).status).toBe(404);
    for (const method of ['PUT', 'DELETE', 'MKCOL', 'MOVE', 'COPY', 'PROPPATCH', 'LOCK', 'POST'])
      expect([method, (await dav(method, file)).status]).toEqual([method, 405]);

    const anonymous = await fetch(new URL(file, url));
    expect(anonymous.status).toBe(401);
    const wrong = await fetch(new URL(file, url), { headers: { authorization: 'Bearer not-the-token-at-all' } });
    expect(wrong.status).toBe(401);
    const basic = await fetch(new URL(file, url), {
      method: 'HEAD',
      headers: { authorization: `Basic ${Buffer.from(`anyone:${token}`).toString('base64')}` },
    });
    expect(basic.status).toBe(200);
  });

  it('refuses a malformed --listen, and stops on SIGTERM with exit 0', async () => {
    const r = await runCli(['--config', config, 'webdav', '--listen', 'not an address'], { env: env() });
    expect(r.code, show(r)).toBe(2);
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
