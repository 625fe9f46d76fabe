import { readFile } from 'node:fs/promises';
import { ErrorCode, LifeboatError, isLifeboatError, systemErrorCode } from '../../errors/index.js';
import type { Storage } from '../../storage/contract.js';
import type { Credentials } from './credentials.js';
import { parseKeySlot, unlockKeySlot, type SlotOpening } from './key-slot.js';
import { parseRecoveryKey } from './paper-key.js';

/** Every master secret (or write-only key) the credentials unlock, in slot order. */
export async function* unlock(
  storage: Storage,
  credentials: Credentials,
): AsyncGenerator<SlotOpening & { keyName: string | undefined }> {
  if (credentials.kind === 'key-file') {
    let text: string;
    try {
      text = await readFile(credentials.path, 'utf8');
    } catch (cause) {
      throw new LifeboatError(
        ErrorCode.NoPassword,
        `cannot read the key file ${credentials.path} (${systemErrorCode(cause) ?? 'error'})`,
      );
    }
    // The recovery key is the master secret itself: whoever holds it is admin.
    yield { master: parseRecoveryKey(text).master, keyName: undefined, role: 'admin' };
    return;
  }
  if (credentials.password.length === 0) {
    throw new LifeboatError(ErrorCode.WrongPassword, 'the password is empty', {
      hint: 'set LIFEBOAT_PASSWORD (or _FILE, _COMMAND) to the repository password',
    });
  }
  const slots = await storage.list('keys/');
  for (const s of slots) {
    const opened = await unlockSlot(storage, s.name, credentials.password);
    if (opened) yield { ...opened, keyName: s.name };
  }
}

/**
 * The master secret in one slot if the password opens it. A slot that does
 * not parse or open is read once more, and tried again if the bytes differ:
 * bytes damaged on the way are not a wrong password or a damaged slot.
 */
async function unlockSlot(storage: Storage, name: string, password: Buffer): Promise<SlotOpening | undefined> {
  let previous: Buffer | undefined;
  for (let read = 0; read < 2; read++) {
    let bytes: Buffer;
    try {
      bytes = await storage.get(name);
    } catch (err) {
      if (isLifeboatError(err, ErrorCode.NotFound)) return undefined; // vanished slot
      throw err;
    }
    if (previous?.equals(bytes)) return undefined;
    previous = bytes;
    try {
      const opened = await unlockKeySlot(parseKeySlot(bytes, name), password);
      if (opened) return opened;
    } catch (err) {
      if (!isLifeboatError(err, ErrorCode.WrongPassword)) throw err; // WrongPassword: a damaged slot
    }
  }
  return undefined;
}
