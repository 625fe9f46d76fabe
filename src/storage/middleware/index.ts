/** Storage wrapped around another: retries of transient failures, and injected faults for tests. */
export { FaultyStorage, faultOnNthCall, type Fault, type FaultPlan, type StorageOp } from './faulty.js';
export {
  DEFAULT_RETRY_POLICY,
  RetryingStorage,
  retryingFactory,
  withRetries,
  type RetryInfo,
  type RetryPolicy,
} from './retrying.js';
