/** The `memory:` driver: repositories held in this process, shared by name (tests and drills). */
export { MemoryStorage, createMemoryStorage, resetMemoryStorage } from './memory.js';
