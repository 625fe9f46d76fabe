import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LifeboatError } from '../../../errors/index.js';
import { parseServerUrl } from './http-url.js';
import { readServerToken } from './http-token.js';

describe('repository-server URLs', () => {
  it.each([
    ['lifeboat+https://backup.example.org:8529/repo', 'https://backup.example.org:8529/repo', 'repo'],
    ['lifeboat+http://127.0.0.1:8529/main', 'http://127.0.0.1:8529/main', 'main'],
    ['lifeboat+http://[::1]:8529/repo/', 'http://[::1]:8529/repo', 'repo'],
  ])('%s → %s', (text, base, name) => {
    expect(parseServerUrl(new URL(text))).toMatchObject({ base, name });
  });

  it.each([
    ['lifeboat+https://user:secret@host/repo', /credentials do not belong in the URL/],
    ['lifeboat+https://host/repo?token=x', /no query string/],
    ['lifeboat+https://host/', /one segment naming the repository/],
    ['lifeboat+https://host/a/b', /one segment naming the repository/],
  ])('refuses %s', (text, why) => {
    let err: unknown;
    try {
      parseServerUrl(new URL(text));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LifeboatError);
    expect((err as LifeboatError).code).toBe('usage');
    expect((err as LifeboatError).message).toMatch(why);
    expect((err as LifeboatError).message).not.toContain('secret');
  });
});

describe('the client token', () => {
  it('comes from $LIFEBOAT_SERVER_TOKEN_FILE first, then $LIFEBOAT_SERVER_TOKEN, else no_password', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-token-'));
    const file = path.join(dir, 'token');
    writeFileSync(file, 'lbs_from-file\n', { mode: 0o600 });
    expect(await readServerToken({ LIFEBOAT_SERVER_TOKEN_FILE: file, LIFEBOAT_SERVER_TOKEN: 'lbs_env' })).toBe(
      'lbs_from-file',
    );
    expect(await readServerToken({ LIFEBOAT_SERVER_TOKEN: 'lbs_env' })).toBe('lbs_env');
    await expect(readServerToken({})).rejects.toMatchObject({ code: 'no_password' });
    await expect(readServerToken({ LIFEBOAT_SERVER_TOKEN_FILE: path.join(dir, 'missing') })).rejects.toMatchObject({
      code: 'config',
    });
  });

  it("comes from the repository's token_file before the environment, and a token_file others may read is refused with a hint", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-token-'));
    const configured = path.join(dir, 'configured');
    const fromEnv = path.join(dir, 'env');
    writeFileSync(configured, 'lbs_configured\n', { mode: 0o600 });
    writeFileSync(fromEnv, 'lbs_env-file\n', { mode: 0o600 });
    expect(await readServerToken({ LIFEBOAT_SERVER_TOKEN_FILE: fromEnv }, configured)).toBe('lbs_configured');
    chmodSync(configured, 0o644);
    const err = await readServerToken({ LIFEBOAT_SERVER_TOKEN_FILE: fromEnv }, configured).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'refused', hint: `chmod 600 ${configured}` });
    expect((err as Error).message).toContain('mode 0644');
    expect((err as Error).message).not.toContain('lbs_configured');
    await expect(readServerToken({}, path.join(dir, 'missing'))).rejects.toMatchObject({
      code: 'config',
      hint: 'check token_file of this repository in lifeboat.yaml',
    });
  });
});
