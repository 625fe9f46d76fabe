/**
 * The SSH authentication methods for a repository, in the order they are tried:
 * the private key of `identity_file` (or, without it, the usable keys ssh
 * would offer: see sftp-login.ts), the ssh-agent ($SSH_AUTH_SOCK), then a
 * password from `sftp_password_file` or $LIFEBOAT_SFTP_PASSWORD (as `password`
 * and as `keyboard-interactive`, which PAM-based servers use for passwords).
 * Secrets come only from files and the environment; no message ever contains one.
 *
 * @module
 */

import { promises as fs } from 'node:fs';
import ssh2 from 'ssh2';
import type { AnyAuthMethod } from 'ssh2';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import type { RemoteSettings } from '../../contract.js';
import { checkSecretFileMode } from '../../../util/secret-file-mode.js';
import type { IdentityCandidate } from './sftp-login.js';

/** Environment variable holding the SFTP login password when no file is configured. */
export const SFTP_PASSWORD_ENV = 'LIFEBOAT_SFTP_PASSWORD';

export interface AuthPlan {
  methods: AnyAuthMethod[];
  /** What is tried, for the hint of an authentication failure (no secrets). */
  described: string[];
  /** Keys ssh would offer that were left out, and why (for the hint). */
  skipped: string[];
}

async function readSecretFile(file: string, what: string): Promise<Buffer> {
  await checkSecretFileMode(file, what);
  try {
    return await fs.readFile(file);
  } catch (err) {
    throw new LifeboatError(
      ErrorCode.Config,
      `cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      {
        hint: `check the path and that this user may read it`,
        cause: err,
      },
    );
  }
}

async function privateKey(file: string): Promise<Buffer> {
  const key = await readSecretFile(file, 'SSH identity file');
  const parsed = ssh2.utils.parseKey(key);
  if (parsed instanceof Error) {
    const encrypted = /encrypted|passphrase/i.test(parsed.message);
    throw new LifeboatError(
      ErrorCode.Config,
      `the SSH identity file ${file} ${encrypted ? 'is protected by a passphrase' : 'is not a usable private key'}`,
      {
        hint: encrypted
          ? 'load the key into ssh-agent (ssh-add) and leave identity_file unset, or use a key without a passphrase readable only by this user'
          : 'identity_file must name an OpenSSH or PEM private key',
      },
    );
  }
  return key;
}

/** A key ssh would offer on its own: missing is normal (undefined), locked or unusable is noted and skipped. */
async function optionalKey(file: string, skipped: string[]): Promise<Buffer | undefined> {
  let key: Buffer;
  try {
    key = await fs.readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') skipped.push(`${file} (${code ?? (err as Error).message})`);
    return undefined;
  }
  const parsed = ssh2.utils.parseKey(key);
  if (parsed instanceof Error) {
    skipped.push(
      `${file} (${/encrypted|passphrase/i.test(parsed.message) ? 'protected by a passphrase: load it into ssh-agent' : 'not a usable private key'})`,
    );
    return undefined;
  }
  return key;
}

export async function authPlan(
  user: string,
  remote: RemoteSettings,
  env: NodeJS.ProcessEnv,
  identities: IdentityCandidate[],
): Promise<AuthPlan> {
  const methods: AnyAuthMethod[] = [];
  const described: string[] = [];
  const skipped: string[] = [];
  for (const id of identities) {
    const key = id.required ? await privateKey(id.file) : await optionalKey(id.file, skipped);
    if (!key) continue;
    methods.push({ type: 'publickey', username: user, key });
    described.push(`the key in ${id.file}`);
  }
  if (env.SSH_AUTH_SOCK) {
    methods.push({ type: 'agent', username: user, agent: env.SSH_AUTH_SOCK });
    described.push('the keys in ssh-agent');
  }
  let password: string | undefined;
  if (remote.passwordFile) {
    password = (await readSecretFile(remote.passwordFile, 'SFTP password file')).toString('utf8').replace(/\r?\n$/, '');
    described.push(`the password in ${remote.passwordFile}`);
  } else if (env[SFTP_PASSWORD_ENV]) {
    password = env[SFTP_PASSWORD_ENV];
    described.push(`the password in $${SFTP_PASSWORD_ENV}`);
  }
  if (password !== undefined) {
    const secret = password;
    methods.push({ type: 'password', username: user, password: secret });
    methods.push({
      type: 'keyboard-interactive',
      username: user,
      // Answer every hidden prompt with the password; echoed prompts are not password questions.
      prompt: (_name, _instructions, _lang, prompts, finish) => finish(prompts.map((p) => (p.echo ? '' : secret))),
    });
  }
  if (methods.length === 0) {
    const looked = identities.map((i) => i.file).join(', ');
    throw new LifeboatError(
      ErrorCode.Config,
      `no way to log in to the SFTP server as ${user}: no usable key in ${looked}${skipped.length ? ` (skipped ${skipped.join('; ')})` : ''}, no ssh-agent, no password`,
      {
        hint: `put a key in ~/.ssh (or name it with IdentityFile in ~/.ssh/config or identity_file in lifeboat.yaml), run an ssh-agent ($SSH_AUTH_SOCK), or set sftp_password_file or $${SFTP_PASSWORD_ENV}`,
      },
    );
  }
  return { methods, described, skipped };
}
