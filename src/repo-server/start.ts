/**
 * Starting a repository server: check the listen address (plain HTTP only on
 * loopback: a token sent in clear over a network is a token given away), load
 * TLS material, the tokens, the ledger and the audit log from the state
 * directory, and listen.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { parseListen } from '../daemon/listen.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { Storage } from '../storage/contract.js';
import { AuditLog } from './audit.js';
import { Ledger } from './ledger.js';
import { ServerMetrics } from './metrics.js';
import { buildRepositoryServer } from './server.js';
import { TokenStore, tokensFile } from './tokens.js';
import { makeDirectoriesSync } from '../util/make-dirs.js';

export interface RepositoryServerOptions {
  storage: Storage;
  name: string;
  listen: string;
  stateDir: string;
  tls?: { certFile: string; keyFile: string };
  log: (line: string) => void;
}

export interface RunningRepositoryServer {
  /** `lifeboat+http(s)://host:port/<name>`: what clients pass as --repo. */
  url: string;
  app: FastifyInstance;
  auditFile: string;
  tokenCount: number;
  close(): Promise<void>;
}

function readTlsFile(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new LifeboatError(ErrorCode.Usage, `cannot read the TLS ${what} ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export async function startRepositoryServer(o: RepositoryServerOptions): Promise<RunningRepositoryServer> {
  let listen: ReturnType<typeof parseListen>;
  try {
    listen = parseListen(o.listen);
  } catch (err) {
    throw new LifeboatError(ErrorCode.Usage, `--listen "${o.listen}" is not host:port`, {
      hint: 'e.g. 127.0.0.1:8529, or 0.0.0.0:8529 with --tls-cert and --tls-key',
      cause: err,
    });
  }
  if (!o.tls && !listen.loopback)
    throw new LifeboatError(
      ErrorCode.Usage,
      `refusing to serve plain HTTP on ${o.listen}, which is not a loopback address`,
      {
        hint: 'tokens and backups would cross the network in clear: pass --tls-cert and --tls-key, or listen on 127.0.0.1',
      },
    );
  const https = o.tls
    ? { cert: readTlsFile(o.tls.certFile, 'certificate'), key: readTlsFile(o.tls.keyFile, 'key') }
    : undefined;
  makeDirectoriesSync(o.stateDir, 0o700);
  const tokens = new TokenStore(tokensFile(o.stateDir));
  const tokenCount = tokens.list().length;
  if (tokenCount === 0)
    throw new LifeboatError(ErrorCode.Usage, `no tokens in ${tokens.file}: no client could use this server`, {
      hint: 'add one first: lifeboat serve-repository token add --name NAME --role admin|append',
    });
  const ledger = Ledger.in(o.stateDir);
  const audit = AuditLog.in(o.stateDir);
  const metrics = new ServerMetrics(tokens, ledger);
  const app = buildRepositoryServer({
    storage: o.storage,
    name: o.name,
    tokens,
    ledger,
    audit,
    metrics,
    log: o.log,
    https,
  });
  await app.listen({ host: listen.host, port: listen.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : listen.port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    url: `lifeboat+${https ? 'https' : 'http'}://${host}:${port}/${o.name}`,
    app,
    auditFile: audit.file,
    tokenCount,
    close: async () => {
      await app.close();
    },
  };
}
