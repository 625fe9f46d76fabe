import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server on loopback that records what webhooks POST to it.
 * `failNext(n, status)` answers the next n requests with that status (or drops
 * the connection for status 0) to exercise retries.
 */
export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

export async function startWebhookReceiver(): Promise<{
  url: string;
  received: Received[];
  failNext: (n: number, status: number) => void;
  close: () => Promise<void>;
}> {
  const received: Received[] = [];
  let failures = 0;
  let failStatus = 500;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failures > 0) {
        failures--;
        if (failStatus === 0) return req.socket.destroy();
        res.writeHead(failStatus).end('no');
        return;
      }
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/T0SECRETPATH`,
    received,
    failNext: (n, status) => {
      failures = n;
      failStatus = status;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
