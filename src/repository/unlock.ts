import { readFile } from 'node:fs/promises';
import { ErrorCode, LifeboatError, isLifeboatError, systemErrorCode } from '../errors/index.js';
import type { Storage } from '../storage/contract.js';
import type { Credentials } from './credentials.js';
import { parseKeySlot, unlockKeySlot } from './key-slot.js';
import { parseRecoveryKey } from './paper-key.js';

/** Every master secret the credentials unlock, in slot order. */
export async function* unlock(storage: Storage, credentials: Credentials): AsyncGenerator<{ master: Buffer; keyName: string | undefined }> {
  if (credentials.kind === 'key-file') {
    let text: string;
    try {
      text = await readFile(credentials.path, 'utf8');
    } catch (cause) {
      throw new LifeboatError(ErrorCode.NoPassword, `cannot read the key file ${credentials.path} (${systemErrorCode(cause) ?? 'error'})`);
    }
    yield { master: parseRecoveryKey(text).master, keyName: undefined };
    return;
  }
  if (credentials.password.length === 0) {
    throw new LifeboatError(ErrorCode.WrongPassword, 'the password is empty', { hint: 'set LIFEBOAT_PASSWORD (or _FILE, _COMMAND) to the repository password' });
  }
  const slots = await storage.list('keys/');
  for (const s of slots) {
    let slot;
    try {
      slot = parseKeySlot(await storage.get(s.name), s.name);
    } catch (err) {
      if (isLifeboatError(err, ErrorCode.WrongPassword) || isLifeboatError(err, ErrorCode.NotFound)) continue; // damaged or vanished slot
      throw err;
    }
    const master = await unlockKeySlot(slot, credentials.password);
    if (master) yield { master, keyName: s.name };
  }
}
