/**
 * A repository server for tests: a local-directory backend in a temp dir, a
 * state dir with the tokens asked for, listening on a free loopback port.
 * Clients are HttpStorage instances holding one of the tokens.
 *
 * @module
 */

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLocalStorage } from '../../storage/drivers/local/index.js';
import { HttpStorage, parseServerUrl } from '../../storage/drivers/http/index.js';
import { startRepositoryServer, type RunningRepositoryServer } from '../start.js';
import { TokenStore, tokensFile, type Role } from '../tokens.js';

export interface TestServer {
  server: RunningRepositoryServer;
  /** The backend's directory (the repository as the server stores it). */
  root: string;
  stateDir: string;
  /** Token text by token name. */
  tokens: Record<string, string>;
  client(tokenName: string): HttpStorage;
  stop(): Promise<void>;
}

export async function startTestServer(
  tokens: Array<{ name: string; role: Role; quotaBytes?: number }>,
  options: { name?: string } = {},
): Promise<TestServer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lifeboat-reposerver-'));
  const root = path.join(dir, 'repo');
  const stateDir = path.join(dir, 'state');
  const store = new TokenStore(tokensFile(stateDir));
  const texts: Record<string, string> = {};
  for (const t of tokens) texts[t.name] = store.add(t.name, t.role, t.quotaBytes).token;
  const storage = await createLocalStorage(pathToFileURL(root), { create: true });
  const server = await startRepositoryServer({
    storage,
    name: options.name ?? 'repo',
    listen: '127.0.0.1:0',
    stateDir,
    log: () => undefined,
  });
  const clients: HttpStorage[] = [];
  return {
    server,
    root,
    stateDir,
    tokens: texts,
    client(tokenName) {
      const c = new HttpStorage(parseServerUrl(new URL(server.url)), texts[tokenName]!, { temporaries: true });
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) await c.close();
      await server.close();
      await storage.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
