/**
 * Public surface of the storage layer. The conformance suite
 * (`testing/conformance.ts`) is deliberately not exported: it imports vitest.
 */
export type { ObjectInfo, SpaceInfo, Storage, StorageFactory, StorageOptions } from './contract.js';
export { describeLocation, parseLocation } from './location.js';
export { openStorage, registerStorage, registeredSchemes } from './registry.js';
export { MAX_OBJECT_NAME_LENGTH, assertValidObjectName, assertValidPrefix, isValidObjectName } from './names.js';
export { LocalStorage, createLocalStorage } from './drivers/local/index.js';
export { MemoryStorage, createMemoryStorage, resetMemoryStorage } from './drivers/memory/index.js';
export {
  DEFAULT_RETRY_POLICY,
  FaultyStorage,
  RetryingStorage,
  faultOnNthCall,
  retryingFactory,
  withRetries,
} from './middleware/index.js';
export type { Fault, FaultPlan, RetryInfo, RetryPolicy, StorageOp } from './middleware/index.js';
