import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server on loopback that records every request (method, path
 * with query, headers, body) and answers with what `answer` says: by default
 * 200 with `{}`. Chat and push notifiers are tested against it, as their
 * services would receive them.
 */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Answer {
  status: number;
  body?: string;
}

export async function startHttpRecorder(): Promise<{
  origin: string;
  requests: RecordedRequest[];
  /** Answers for the next requests, in order; once used up, 200 `{}`. */
  answerNext: (...answers: Answer[]) => void;
  close: () => Promise<void>;
}> {
  const requests: RecordedRequest[] = [];
  const queue: Answer[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const a = queue.shift() ?? { status: 200, body: '{}' };
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    answerNext: (...answers) => void queue.push(...answers),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
