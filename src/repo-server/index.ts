/** The repository server (`lifeboat serve-repository`): tokens, append-only access, quota, audit, metrics. */
export { startRepositoryServer, type RepositoryServerOptions, type RunningRepositoryServer } from './start.js';
export { buildRepositoryServer, MAX_OBJECT_BYTES, type RepositoryServerParts } from './server.js';
export { ROLES, TokenStore, tokensFile, type Role, type TokenEntry } from './tokens.js';
export { Ledger } from './ledger.js';
export { AuditLog, type AuditEntry } from './audit.js';
export { ServerMetrics } from './metrics.js';
