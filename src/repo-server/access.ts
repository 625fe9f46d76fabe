/**
 * What each role may do, as pure decisions (the server applies them, the tests
 * read them). `admin` may do everything. `append` may read, list and add new
 * objects; it may never remove or replace one, with two exceptions that change
 * no stored data:
 *
 * - storing the exact bytes an object already holds succeeds without writing
 *   (a retry of a PUT whose answer was lost);
 * - removing a lock object (`locks/…`) that this same token created succeeds,
 *   so a backup can refresh and release its own locks. Another host's lock,
 *   stale or not, is refused: an admin's next command clears stale ones.
 *
 * @module
 */

import type { Role } from './tokens.js';

export type Decision = { allow: true } | { allow: false; why: string };

const ALLOW: Decision = { allow: true };

export function decidePut(role: Role, exists: boolean, identical: boolean): Decision {
  if (role === 'admin' || !exists || identical) return ALLOW;
  return { allow: false, why: 'an append-only token cannot overwrite an existing object' };
}

export function decideRemove(
  role: Role,
  name: string,
  exists: boolean,
  token: string,
  lockOwner: string | undefined,
): Decision {
  if (role === 'admin' || !exists) return ALLOW;
  if (name.startsWith('locks/') && lockOwner === token) return ALLOW;
  if (name.startsWith('locks/'))
    return { allow: false, why: 'an append-only token can remove only the locks it created itself' };
  return { allow: false, why: 'an append-only token cannot delete objects' };
}

/** Operations that only an admin may run at all. */
export function decideAdminOnly(role: Role, what: string): Decision {
  return role === 'admin' ? ALLOW : { allow: false, why: `${what} needs an admin token` };
}
