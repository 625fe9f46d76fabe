import http from 'node:http';

/**
 * An HTTP proxy in front of s3rver that plays the part of S3 Object Lock,
 * which s3rver does not implement (it ignores the lock headers and answers
 * GetObjectLockConfiguration with an error). It records every request that
 * passes, so tests assert at the server side what the client sent; and like
 * S3 it:
 *
 * - enables Object Lock on a bucket created with `x-amz-bucket-object-lock-enabled: true`
 *   (or by `enableLock`), and answers GetObjectLockConfiguration (`GET /bucket?object-lock`)
 *   with Enabled, or with ObjectLockConfigurationNotFoundError for other buckets;
 * - refuses with 403 AccessDenied a DeleteObject of a key written with a
 *   retain-until date still in the future (by PutObject or CreateMultipartUpload),
 *   as S3 does for a delete of a locked version, or a bucket policy denying deletes
 *   of retained objects. Unlocked keys are deleted normally.
 *
 * What it does not do: versions (S3 keeps a locked object's bytes as a
 * noncurrent version when a plain delete adds a delete marker), governance
 * bypass, legal holds, and refusing an overwrite of a locked key.
 */
export interface RecordedS3Request {
  method: string;
  /** Path-style `/bucket/key` without the query. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
}

export interface ObjectLockS3Proxy {
  endpoint: string;
  requests: RecordedS3Request[];
  /** Deletes refused because the key was still under retention. */
  refusedDeletes: string[];
  enableLock(bucket: string): void;
  close(): Promise<void>;
}

const xml = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;

export async function startObjectLockS3Proxy(
  targetPort: number,
  now: () => number = Date.now,
): Promise<ObjectLockS3Proxy> {
  const requests: RecordedS3Request[] = [];
  const refusedDeletes: string[] = [];
  const locked = new Set<string>();
  const retainUntil = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const path = decodeURIComponent(url.pathname);
    requests.push({ method: req.method ?? '', path, query: url.searchParams, headers: req.headers });
    const [, bucket = '', ...rest] = path.split('/');
    const key = `${bucket}/${rest.join('/')}`;
    // `/bucket` or `/bucket/`: a bucket-level request.
    const atBucket = rest.join('') === '';
    const answer = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method === 'GET' && atBucket && url.searchParams.has('object-lock')) {
      req.resume();
      if (!locked.has(bucket))
        return answer(404, xml('ObjectLockConfigurationNotFoundError', 'Object Lock configuration does not exist'));
      return answer(
        200,
        '<?xml version="1.0" encoding="UTF-8"?><ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>',
      );
    }
    if (req.method === 'PUT' && atBucket && req.headers['x-amz-bucket-object-lock-enabled'] === 'true')
      locked.add(bucket);
    const until = req.headers['x-amz-object-lock-retain-until-date'];
    const writes = (req.method === 'PUT' && !url.searchParams.has('partNumber')) || url.searchParams.has('uploads');
    if (writes && typeof until === 'string') retainUntil.set(key, Date.parse(until));
    if (req.method === 'DELETE' && !atBucket && (retainUntil.get(key) ?? 0) > now()) {
      req.resume();
      refusedDeletes.push(rest.join('/'));
      return answer(403, xml('AccessDenied', 'Access Denied because object protected by object lock.'));
    }
    const upstream = http.request(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    refusedDeletes,
    enableLock: (bucket) => locked.add(bucket),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
