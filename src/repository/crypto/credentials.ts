import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { ErrorCode, LifeboatError, systemErrorCode } from '../../errors/index.js';
import { checkSecretFileMode } from '../../util/secret-file-mode.js';

/**
 * How a repository is unlocked: a password (from the environment, a file or a
 * command — never from a command-line value) or a recovery key file.
 */
export type Credentials = { kind: 'password'; password: Buffer; source: string } | { kind: 'key-file'; path: string };

/** Where `resolveCredentials` may find a password or a recovery key. */
export interface CredentialSources {
  env?: NodeJS.ProcessEnv;
  /** Path given by `--key-file`. */
  keyFile?: string;
  /** Prefix of the environment variables, `LIFEBOAT_PASSWORD` by default (`LIFEBOAT_NEW_PASSWORD` for `key add`). */
  variable?: string;
  /** Only a password will do (creating a key slot): ignore key files. */
  noKeyFile?: boolean;
  /** Asks on the terminal when nothing else is configured. */
  prompt?: (question: string) => Promise<string>;
}

/** A password file's single trailing newline (from `echo pw > file`) is not part of the password. */
export function stripTrailingNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}

/**
 * The credentials to open a repository with, from the sources the CLI reads, in the order docs/cli.md
 * gives: a recovery key file (`keyFile`, `LIFEBOAT_KEY_FILE`), `LIFEBOAT_PASSWORD_FILE`,
 * `LIFEBOAT_PASSWORD`, `LIFEBOAT_PASSWORD_COMMAND`, the prompt; LifeboatError `no_password` when none gives one.
 */
export async function resolveCredentials(sources: CredentialSources): Promise<Credentials> {
  const env = sources.env ?? process.env;
  const variable = sources.variable ?? 'LIFEBOAT_PASSWORD';
  const keyFile = sources.noKeyFile
    ? undefined
    : (sources.keyFile ?? (variable === 'LIFEBOAT_PASSWORD' ? env.LIFEBOAT_KEY_FILE : undefined));
  if (keyFile) {
    await checkSecretFileMode(keyFile, 'recovery key file');
    return { kind: 'key-file', path: keyFile };
  }
  const direct = env[variable];
  if (direct !== undefined) return { kind: 'password', password: Buffer.from(direct, 'utf8'), source: variable };
  const file = env[`${variable}_FILE`];
  if (file)
    return {
      kind: 'password',
      password: Buffer.from(stripTrailingNewline(await readSecretFile(file)), 'utf8'),
      source: `${variable}_FILE`,
    };
  const command = env[`${variable}_COMMAND`];
  if (command)
    return {
      kind: 'password',
      password: Buffer.from(stripTrailingNewline(await runSecretCommand(command)), 'utf8'),
      source: `${variable}_COMMAND`,
    };
  if (sources.prompt) {
    const answer = await sources.prompt(variable === 'LIFEBOAT_PASSWORD' ? 'Repository password: ' : 'New password: ');
    return { kind: 'password', password: Buffer.from(answer, 'utf8'), source: 'prompt' };
  }
  throw new LifeboatError(ErrorCode.NoPassword, 'no repository password was given', {
    hint: `set ${variable}, ${variable}_FILE or ${variable}_COMMAND${variable === 'LIFEBOAT_PASSWORD' ? ', or pass --key-file' : ''}`,
  });
}

export async function readSecretFile(path: string): Promise<string> {
  await checkSecretFileMode(path, 'password file');
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new LifeboatError(
      ErrorCode.NoPassword,
      `cannot read the secret file ${path} (${systemErrorCode(cause) ?? 'error'})`,
      {
        hint: 'check the path and its permissions',
      },
    );
  }
}

function runSecretCommand(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', command], { maxBuffer: 1024 * 1024, timeout: 60_000 }, (err, stdout) => {
      if (err) {
        reject(
          new LifeboatError(
            ErrorCode.NoPassword,
            `the password command failed (exit ${String((err as { code?: unknown }).code ?? '?')})`,
            {
              hint: 'run the command by hand to see its error',
            },
          ),
        );
      } else resolve(stdout);
    });
  });
}
