// Entry point of the sealing workers when Lifeboat runs from its TypeScript
// sources (the test runner): registers tsx in this thread, then loads the worker.
import { register } from 'tsx/esm/api';

register();
const worker = await import('./seal-worker.ts');
export default worker.default;
