/**
 * Keys and the envelope (§2 and §3 of the format document): the master secret
 * and the keys derived from it, sealing and opening objects, blob ids, key
 * slots, the recovery (paper) key, where a password comes from, and unlocking
 * the master secret from the key slots in storage.
 */
export {
  blobId,
  deriveRepositoryKeys,
  newMasterSecret,
  type ObjectKind,
  open,
  type RepositoryKeys,
  seal,
  sealParts,
} from './crypto.js';
export {
  claimedRole,
  createKeySlot,
  createWriteOnlySlot,
  isKeyRole,
  KEY_ROLES,
  type KeyRole,
  parseKeySlot,
  type SlotOpening,
} from './key-slot.js';
export { isSessionKey, newSessionKey, sealingPublicKey } from './sealing.js';
export {
  derivePresenceKey,
  newWriteOnlyKey,
  type WriteOnlyKey,
  type WriteOnlyRepositorySettings,
} from './write-only-key.js';
export { encodeRecoveryKey, fingerprint, parseRecoveryKey, renderRecoveryKey } from './paper-key.js';
export { type Credentials, type CredentialSources, resolveCredentials } from './credentials.js';
export { unlock } from './unlock.js';
