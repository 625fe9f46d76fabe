/**
 * Public surface of the storage layer. The conformance suite
 * (`testing/conformance.ts`) is deliberately not exported: it imports vitest.
 */
export type { ObjectInfo, SpaceInfo, Storage, StorageFactory, StorageOptions } from './contract.js';
export { describeLocation, openStorage, parseLocation, registerStorage, registeredSchemes } from './registry.js';
export { MAX_OBJECT_NAME_LENGTH, assertValidObjectName, assertValidPrefix, isValidObjectName } from './names.js';
export { LocalStorage, createLocalStorage } from './drivers/local.js';
export { MemoryStorage, createMemoryStorage, resetMemoryStorage } from './drivers/memory.js';
export { FaultyStorage, faultOnNthCall } from './middleware/faulty.js';
export type { Fault, FaultPlan, StorageOp } from './middleware/faulty.js';
export { DEFAULT_RETRY_POLICY, RetryingStorage, retryingFactory, withRetries } from './middleware/retrying.js';
export type { RetryInfo, RetryPolicy } from './middleware/retrying.js';
