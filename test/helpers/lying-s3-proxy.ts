import http from 'node:http';

/**
 * An HTTP proxy in front of a real S3 server that lies in its ListObjectsV2
 * answers, as broken S3-compatible endpoints do; every other request passes
 * unchanged. Only listings are rewritten (the objects themselves stay where
 * they are), so what a client reads by name is the truth:
 *
 *   const proxy = await startLyingS3Proxy(server.port);
 *   proxy.setFault((prefix) => (prefix.endsWith('snapshots/') ? { kind: 'short-page', keep: 3 } : { kind: 'pass' }));
 */
export type ListingFault =
  | { kind: 'pass' }
  /** Keep only the first `keep` keys of each page and say the listing ends there (`IsTruncated=false`). */
  | { kind: 'short-page'; keep: number }
  /** Leave out the keys `drop` accepts. */
  | { kind: 'drop'; drop: (key: string) => boolean }
  /** Send every key twice. */
  | { kind: 'duplicate' };

export interface LyingS3Proxy {
  port: number;
  endpoint: string;
  /** Listings rewritten so far. */
  lies: number;
  /** Chooses the fault for one listing by its `prefix` parameter. */
  setFault(choose: (prefix: string) => ListingFault): void;
  close(): Promise<void>;
}

export async function startLyingS3Proxy(targetPort: number): Promise<LyingS3Proxy> {
  let choose: (prefix: string) => ListingFault = () => ({ kind: 'pass' });
  const state = { lies: 0 };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const listing = req.method === 'GET' && url.searchParams.get('list-type') === '2';
    const fault = listing ? choose(url.searchParams.get('prefix') ?? '') : { kind: 'pass' as const };
    const upstream = http.request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        if (fault.kind === 'pass') {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const body = rewrite(Buffer.concat(chunks).toString('utf8'), fault);
          state.lies++;
          const headers = { ...up.headers, 'content-length': String(Buffer.byteLength(body)) };
          res.writeHead(up.statusCode ?? 502, headers);
          res.end(body);
        });
        up.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    get lies() {
      return state.lies;
    },
    setFault(c) {
      choose = c;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Rewrites the <Contents> entries of one ListObjectsV2 answer (a plain XML document). */
function rewrite(xml: string, fault: Exclude<ListingFault, { kind: 'pass' }>): string {
  const entries = xml.match(/<Contents>[\s\S]*?<\/Contents>/g) ?? [];
  const key = (entry: string) => /<Key>([\s\S]*?)<\/Key>/.exec(entry)?.[1] ?? '';
  let kept: string[];
  switch (fault.kind) {
    case 'short-page':
      kept = entries.slice(0, fault.keep);
      break;
    case 'drop':
      kept = entries.filter((e) => !fault.drop(key(e)));
      break;
    case 'duplicate':
      kept = entries.flatMap((e) => [e, e]);
      break;
  }
  const first = xml.indexOf('<Contents>');
  const last = xml.lastIndexOf('</Contents>');
  let out = first < 0 ? xml : xml.slice(0, first) + kept.join('') + xml.slice(last + '</Contents>'.length);
  out = out.replace(/<KeyCount>\d+<\/KeyCount>/, `<KeyCount>${kept.length}</KeyCount>`);
  if (fault.kind === 'short-page') {
    out = out
      .replace(/<IsTruncated>true<\/IsTruncated>/, '<IsTruncated>false</IsTruncated>')
      .replace(/<NextContinuationToken>[\s\S]*?<\/NextContinuationToken>/, '');
  }
  return out;
}
