import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';

/**
 * A real HTTP server on loopback standing in for healthchecks.io: it records
 * each ping's method, path and body. `failNext(n, status)` answers the next n
 * pings with that status; `hang(true)` accepts requests and never answers.
 */
export interface Ping {
  method: string;
  path: string;
  body: string;
  at: number;
}

export interface PingReceiver {
  /** Base ping URL, like https://hc-ping.com/<uuid>. */
  url: string;
  pings: Ping[];
  /** Every request that arrived, answered or not. */
  requests: () => number;
  failNext: (n: number, status: number) => void;
  hang: (on: boolean) => void;
  close: () => Promise<void>;
}

export async function startPingReceiver(): Promise<PingReceiver> {
  const pings: Ping[] = [];
  const sockets = new Set<Socket>();
  let requests = 0;
  let failures = 0;
  let failStatus = 503;
  let hanging = false;
  const server = http.createServer((req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (hanging) return;
      if (failures > 0) {
        failures--;
        res.writeHead(failStatus).end('try later');
        return;
      }
      pings.push({ method: req.method!, path: req.url!, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
    });
  });
  server.on('connection', (s) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/ping/5bd6f3c4-check-key`,
    pings,
    requests: () => requests,
    failNext: (n, status) => ((failures = n), (failStatus = status)),
    hang: (on) => void (hanging = on),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
