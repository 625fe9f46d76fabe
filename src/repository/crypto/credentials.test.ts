import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../../errors/index.js';
import { readSecretFile, resolveCredentials, stripTrailingNewline, type Credentials } from './credentials.js';
import { expectRejectsCode } from '../testing/helpers.js';
import { setSecretFilePolicy } from '../../util/secret-file-mode.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-credentials-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function secretFile(name: string, content: string | Buffer): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, content);
  return file;
}

function password(c: Credentials): string {
  expect(c.kind).toBe('password');
  return c.kind === 'password' ? c.password.toString('utf8') : '';
}

describe('stripTrailingNewline', () => {
  it.each([
    ['pw', 'pw'],
    ['pw\n', 'pw'],
    ['pw\r\n', 'pw'],
    ['pw\n\n', 'pw\n'],
    ['pw\r\n\r\n', 'pw\r\n'],
    ['pw\n\r\n', 'pw\n'],
    ['pw\r', 'pw\r'],
    ['pw\n ', 'pw\n '],
    ['a\nb\n', 'a\nb'],
    ['\n', ''],
    ['', ''],
    [' pw ', ' pw '],
  ])('%j → %j', (input, expected) => {
    expect(stripTrailingNewline(input)).toBe(expected);
  });
});

describe('resolveCredentials', () => {
  it('a --key-file wins over everything', async () => {
    const file = await secretFile('pw1', 'from-file');
    const prompt = vi.fn(async () => 'prompted');
    const c = await resolveCredentials({
      keyFile: '/keys/recovery.txt',
      env: {
        LIFEBOAT_KEY_FILE: '/env/key',
        LIFEBOAT_PASSWORD: 'direct',
        LIFEBOAT_PASSWORD_FILE: file,
        LIFEBOAT_PASSWORD_COMMAND: 'echo cmd',
      },
      prompt,
    });
    expect(c).toEqual({ kind: 'key-file', path: '/keys/recovery.txt' });
    expect(prompt).not.toHaveBeenCalled();
  });

  it('LIFEBOAT_KEY_FILE comes next', async () => {
    const c = await resolveCredentials({
      env: { LIFEBOAT_KEY_FILE: '/env/key', LIFEBOAT_PASSWORD: 'direct', LIFEBOAT_PASSWORD_COMMAND: 'exit 1' },
    });
    expect(c).toEqual({ kind: 'key-file', path: '/env/key' });
  });

  it('LIFEBOAT_PASSWORD beats _FILE, _COMMAND and the prompt, taken verbatim', async () => {
    const prompt = vi.fn(async () => 'prompted');
    const c = await resolveCredentials({
      env: {
        LIFEBOAT_PASSWORD: ' pässwörd \n',
        LIFEBOAT_PASSWORD_FILE: '/does/not/exist',
        LIFEBOAT_PASSWORD_COMMAND: 'exit 7',
      },
      prompt,
    });
    expect(c).toEqual({ kind: 'password', password: Buffer.from(' pässwörd \n', 'utf8'), source: 'LIFEBOAT_PASSWORD' });
    expect(prompt).not.toHaveBeenCalled();
  });

  it('an empty LIFEBOAT_PASSWORD is still "set" (the repository rejects the empty password later)', async () => {
    const c = await resolveCredentials({ env: { LIFEBOAT_PASSWORD: '', LIFEBOAT_PASSWORD_COMMAND: 'echo other' } });
    expect(c).toEqual({ kind: 'password', password: Buffer.alloc(0), source: 'LIFEBOAT_PASSWORD' });
  });

  it('_FILE beats _COMMAND and the prompt', async () => {
    const file = await secretFile('pw2', 'from-file\n');
    const prompt = vi.fn(async () => 'prompted');
    const c = await resolveCredentials({
      env: { LIFEBOAT_PASSWORD_FILE: file, LIFEBOAT_PASSWORD_COMMAND: 'echo cmd' },
      prompt,
    });
    expect(password(c)).toBe('from-file');
    expect(c.kind === 'password' && c.source).toBe('LIFEBOAT_PASSWORD_FILE');
    expect(prompt).not.toHaveBeenCalled();
  });

  it.each([
    ['no newline', 'secret', 'secret'],
    ['one \\n', 'secret\n', 'secret'],
    ['one \\r\\n', 'secret\r\n', 'secret'],
    ['two \\n (only one stripped)', 'secret\n\n', 'secret\n'],
    ['two \\r\\n (only one stripped)', 'secret\r\n\r\n', 'secret\r\n'],
    ['a lone \\r (kept)', 'secret\r', 'secret\r'],
    ['spaces (kept)', '  secret  ', '  secret  '],
    ['inner newline (kept)', 'sec\nret\n', 'sec\nret'],
  ])('_FILE with %s', async (_name, content, expected) => {
    const file = await secretFile(`f-${Math.random().toString(36).slice(2)}`, content);
    expect(password(await resolveCredentials({ env: { LIFEBOAT_PASSWORD_FILE: file } }))).toBe(expected);
  });

  it('_FILE that cannot be read → no_password', async () => {
    await expectRejectsCode(
      resolveCredentials({ env: { LIFEBOAT_PASSWORD_FILE: path.join(dir, 'missing') }, prompt: async () => 'x' }),
      ErrorCode.NoPassword,
    );
    await expectRejectsCode(resolveCredentials({ env: { LIFEBOAT_PASSWORD_FILE: dir } }), ErrorCode.NoPassword);
    await expectRejectsCode(readSecretFile(path.join(dir, 'missing')), ErrorCode.NoPassword);
  });

  it('_COMMAND beats the prompt and runs through /bin/sh', async () => {
    const prompt = vi.fn(async () => 'prompted');
    // Shell syntax (a pipeline and a variable) proves a shell runs it.
    const c = await resolveCredentials({
      env: { LIFEBOAT_PASSWORD_COMMAND: 'X=shell; printf "%s-secret\\n" "$X" | tr a-z A-Z' },
      prompt,
    });
    expect(password(c)).toBe('SHELL-SECRET');
    expect(c.kind === 'password' && c.source).toBe('LIFEBOAT_PASSWORD_COMMAND');
    expect(prompt).not.toHaveBeenCalled();
  });

  it.each([
    ['printf "pw"', 'pw'],
    ['printf "pw\\n"', 'pw'],
    ['printf "pw\\r\\n"', 'pw'],
    ['printf "pw\\n\\n"', 'pw\n'],
    ['printf " pw \\n"', ' pw '],
  ])('_COMMAND %s strips exactly one trailing newline', async (command, expected) => {
    expect(password(await resolveCredentials({ env: { LIFEBOAT_PASSWORD_COMMAND: command } }))).toBe(expected);
  });

  it('a failing _COMMAND → no_password (and the prompt is not used instead)', async () => {
    const prompt = vi.fn(async () => 'prompted');
    await expectRejectsCode(
      resolveCredentials({ env: { LIFEBOAT_PASSWORD_COMMAND: 'echo partial; exit 3' }, prompt }),
      ErrorCode.NoPassword,
    );
    await expectRejectsCode(
      resolveCredentials({ env: { LIFEBOAT_PASSWORD_COMMAND: 'this-command-does-not-exist-lifeboat' } }),
      ErrorCode.NoPassword,
    );
    expect(prompt).not.toHaveBeenCalled();
  });

  it('the prompt is asked last', async () => {
    const prompt = vi.fn(async (_q: string) => 'typed');
    const c = await resolveCredentials({ env: {}, prompt });
    expect(c).toEqual({ kind: 'password', password: Buffer.from('typed'), source: 'prompt' });
    expect(prompt).toHaveBeenCalledTimes(1);
    expect(prompt.mock.calls[0]![0]).toMatch(/password/i);
  });

  it('empty _FILE / _COMMAND values count as not configured', async () => {
    const prompt = vi.fn(async () => 'typed');
    const c = await resolveCredentials({
      env: { LIFEBOAT_PASSWORD_FILE: '', LIFEBOAT_PASSWORD_COMMAND: '', LIFEBOAT_KEY_FILE: '' },
      prompt,
    });
    expect(password(c)).toBe('typed');
  });

  it('nothing configured and no prompt → no_password', async () => {
    const err = await expectRejectsCode(resolveCredentials({ env: {} }), ErrorCode.NoPassword);
    expect(err.hint).toContain('LIFEBOAT_PASSWORD');
  });

  it('uses the given env, not process.env', async () => {
    // Whatever the test runner's environment holds, an explicit empty env has nothing configured.
    await expectRejectsCode(resolveCredentials({ env: {} }), ErrorCode.NoPassword);
  });

  describe('another variable (LIFEBOAT_NEW_PASSWORD for key add)', () => {
    const variable = 'LIFEBOAT_NEW_PASSWORD';

    it('reads its own variables and ignores LIFEBOAT_PASSWORD and LIFEBOAT_KEY_FILE', async () => {
      const c = await resolveCredentials({
        variable,
        env: { LIFEBOAT_KEY_FILE: '/k', LIFEBOAT_PASSWORD: 'old', LIFEBOAT_NEW_PASSWORD: 'new' },
      });
      expect(c).toEqual({ kind: 'password', password: Buffer.from('new'), source: 'LIFEBOAT_NEW_PASSWORD' });
    });

    it('has the same precedence for _FILE and _COMMAND', async () => {
      const file = await secretFile('new-pw', 'newfile\n');
      expect(
        password(
          await resolveCredentials({
            variable,
            env: {
              LIFEBOAT_NEW_PASSWORD_FILE: file,
              LIFEBOAT_NEW_PASSWORD_COMMAND: 'echo cmd',
              LIFEBOAT_PASSWORD: 'old',
            },
          }),
        ),
      ).toBe('newfile');
      expect(
        password(
          await resolveCredentials({
            variable,
            env: { LIFEBOAT_NEW_PASSWORD_COMMAND: 'echo cmd', LIFEBOAT_PASSWORD_FILE: file },
          }),
        ),
      ).toBe('cmd');
    });

    it('an explicit keyFile still wins', async () => {
      expect(await resolveCredentials({ variable, keyFile: '/k', env: { LIFEBOAT_NEW_PASSWORD: 'new' } })).toEqual({
        kind: 'key-file',
        path: '/k',
      });
    });

    it('without anything: no_password, and the prompt asks for a new password', async () => {
      const err = await expectRejectsCode(
        resolveCredentials({ variable, env: { LIFEBOAT_PASSWORD: 'old' } }),
        ErrorCode.NoPassword,
      );
      expect(err.hint).toContain('LIFEBOAT_NEW_PASSWORD');
      const prompt = vi.fn(async (_q: string) => 'typed');
      await resolveCredentials({ variable, env: {}, prompt });
      expect(prompt.mock.calls[0]![0]).toMatch(/new password/i);
    });
  });
});

describe('a password or key file that other users can read', () => {
  afterEach(() => setSecretFilePolicy({ strict: false, warn: (m) => process.emitWarning(m) }));

  it('is used with one warning naming it and its mode; a 0600 file gets none', async () => {
    const warnings: string[] = [];
    setSecretFilePolicy({ strict: false, warn: (m) => warnings.push(m) });
    const open = await secretFile('open.pass', 'pw\n');
    await chmod(open, 0o644);
    const closed = await secretFile('closed.pass', 'pw\n');
    await chmod(closed, 0o600);
    expect(password(await resolveCredentials({ env: { LIFEBOAT_PASSWORD_FILE: closed } }))).toBe('pw');
    expect(warnings).toEqual([]);
    expect(password(await resolveCredentials({ env: { LIFEBOAT_PASSWORD_FILE: open } }))).toBe('pw');
    expect(password(await resolveCredentials({ env: { LIFEBOAT_PASSWORD_FILE: open } }))).toBe('pw');
    expect(warnings).toEqual([
      `the password file ${open} can be read by other users (mode 0644); chmod 600 ${open} (or 640 with a group of its own)`,
    ]);
  });

  it('is refused under strict permissions, a recovery key file too', async () => {
    setSecretFilePolicy({ strict: true, warn: () => undefined });
    const open = await secretFile('strict.pass', 'pw\n');
    await chmod(open, 0o604);
    const err = await expectRejectsCode(
      resolveCredentials({ env: { LIFEBOAT_PASSWORD_FILE: open } }),
      ErrorCode.Refused,
    );
    expect(err.message).toContain('mode 0604');
    expect(err.message).not.toContain('pw');
    const key = await secretFile('open.key', 'key');
    await chmod(key, 0o644);
    await expectRejectsCode(resolveCredentials({ keyFile: key, env: {} }), ErrorCode.Refused);
    const closed = await secretFile('strict-ok.pass', 'pw\n');
    await chmod(closed, 0o640);
    expect(password(await resolveCredentials({ env: { LIFEBOAT_PASSWORD_FILE: closed } }))).toBe('pw');
  });
});
