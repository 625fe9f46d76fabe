/**
 * The one check of a key's role: every operation that deletes or replaces
 * repository objects (forget, prune, tag, key changes, repair, removing other
 * processes' locks) calls `requireAdmin` before it takes a lock or writes
 * anything. This is a check in the client only: a modified client skips it.
 * The refusal that holds against such a client comes from the storage (a
 * repository server's append token, Object Lock), see the format document §2.2.
 *
 * @module
 */

import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { KeyRole } from './crypto/index.js';

/** Throws `role_refused` unless the key that opened the repository is an admin key. */
export function requireAdmin(opened: { role: KeyRole }, operation: string): void {
  if (opened.role === 'admin') return;
  throw new LifeboatError(
    ErrorCode.RoleRefused,
    `${operation} is refused: the repository was opened with an ${opened.role} key, which may add and read backups but never delete or replace anything`,
    {
      hint: `run ${operation} with an admin key (a password whose slot \`lifeboat key list\` shows as admin, or the recovery key file)`,
    },
  );
}
