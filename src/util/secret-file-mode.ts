/**
 * A file holding a secret (a repository password, a recovery key, a database
 * password) that other users of the machine can read is a leak waiting to be
 * found: Lifeboat warns once per file, and with `--strict-permissions` refuses
 * to use it. The CLI sets the policy for the process; library users get
 * Node's process warnings and no refusal by default.
 *
 * @module
 */

import { stat } from 'node:fs/promises';
import { ErrorCode, LifeboatError } from '../errors/index.js';

export interface SecretFilePolicy {
  /** Refuse a secret file that other users can read or write. */
  strict: boolean;
  warn: (message: string) => void;
}

let policy: SecretFilePolicy = { strict: false, warn: (m) => process.emitWarning(m) };
const warned = new Set<string>();

export function setSecretFilePolicy(next: SecretFilePolicy): void {
  policy = next;
}

/** Bits that give other users (not the owner, not the group) access. */
const OTHERS = 0o007;

/** Check the mode of a secret file before it is used; `what` names it in messages ("password file"). */
export async function checkSecretFileMode(file: string, what: string): Promise<void> {
  const st = await stat(file).catch(() => undefined);
  if (!st || (st.mode & OTHERS) === 0) return; // a file that cannot be read is reported by its reader
  const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
  const message = `the ${what} ${file} can be read by other users (mode ${mode})`;
  const hint = `chmod 600 ${file} (or 640 with a group of its own)`;
  if (policy.strict)
    throw new LifeboatError(ErrorCode.Refused, `${message}; refused under --strict-permissions`, { hint });
  if (warned.has(file)) return;
  warned.add(file);
  policy.warn(`${message}; ${hint}`);
}
