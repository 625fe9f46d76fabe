import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, type S3Server } from './s3.js';

/**
 * The test S3 server stores bodies sent in the streaming SigV4 framing
 * (`aws-chunked`, used by restic's S3 client over plain HTTP) decoded, as S3
 * does. Requests are signed by hand here: the SDK never sends that framing for
 * the bodies Lifeboat uploads.
 */
let server: S3Server;
const BUCKET = 'chunked';

beforeAll(async () => {
  server = await startS3Server();
  expect((await send('PUT', `/${BUCKET}`, Buffer.alloc(0))).status).toBe(200);
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** A SigV4-signed request (region us-east-1) whose payload hash header is `payloadHash`. */
async function send(
  method: string,
  path: string,
  body: Buffer,
  headers: Record<string, string> = {},
  payloadHash = 'UNSIGNED-PAYLOAD',
): Promise<Response> {
  const amzDate = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const day = amzDate.slice(0, 8);
  const all: Record<string, string> = {
    ...headers,
    host: new URL(server.endpoint).host,
    'x-amz-content-sha256': payloadHash,
    'x-amz-date': amzDate,
  };
  const names = Object.keys(all)
    .map((n) => n.toLowerCase())
    .sort();
  const lower = Object.fromEntries(Object.entries(all).map(([k, v]) => [k.toLowerCase(), v]));
  const canonical = [method, path, '', ...names.map((n) => `${n}:${lower[n]}`), '', names.join(';'), payloadHash].join(
    '\n',
  );
  const scope = `${day}/us-east-1/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${server.secretAccessKey}`, day), 'us-east-1'), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  const { host: _host, ...sent } = all;
  return fetch(`${server.endpoint}${path}`, {
    method,
    body: method === 'GET' ? undefined : body,
    headers: {
      ...sent,
      authorization: `AWS4-HMAC-SHA256 Credential=${server.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
    },
  });
}

/** `payload` in the aws-chunked framing, `chunk` bytes a chunk (signatures are not checked by the server). */
function awsChunked(payload: Buffer, chunk: number): Buffer {
  const parts: Buffer[] = [];
  const frame = (data: Buffer) =>
    parts.push(
      Buffer.from(`${data.length.toString(16)};chunk-signature=${'0'.repeat(64)}\r\n`),
      data,
      Buffer.from('\r\n'),
    );
  for (let off = 0; off < payload.length; off += chunk) frame(payload.subarray(off, off + chunk));
  frame(Buffer.alloc(0));
  return Buffer.concat(parts);
}

const streaming = (payload: Buffer, decodedLength = payload.length) => ({
  'content-encoding': 'aws-chunked',
  'x-amz-decoded-content-length': String(decodedLength),
});

describe('s3rver launcher: aws-chunked bodies', () => {
  it('stores the payload of an aws-chunked PUT, not its framing, and drops the transfer encoding', async () => {
    const payload = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
    const put = await send(
      'PUT',
      `/${BUCKET}/obj`,
      awsChunked(payload, 65_536),
      streaming(payload),
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    );
    expect(put.status).toBe(200);
    const got = await send('GET', `/${BUCKET}/obj`, Buffer.alloc(0));
    expect(got.status).toBe(200);
    expect(got.headers.get('content-encoding')).toBeNull();
    expect(Buffer.from(await got.arrayBuffer()).equals(payload)).toBe(true);
  });

  it('refuses a body whose decoded length differs from x-amz-decoded-content-length, keeping the old object', async () => {
    const old = Buffer.from('old contents');
    expect((await send('PUT', `/${BUCKET}/kept`, old)).status).toBe(200);
    const payload = Buffer.alloc(1000, 1);
    const put = await send(
      'PUT',
      `/${BUCKET}/kept`,
      awsChunked(payload, 300),
      streaming(payload, 999),
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    );
    expect(put.status).toBeGreaterThanOrEqual(400);
    const got = await send('GET', `/${BUCKET}/kept`, Buffer.alloc(0));
    expect(Buffer.from(await got.arrayBuffer()).equals(old)).toBe(true);
  });

  it('leaves a plain body as it is', async () => {
    const payload = Buffer.from('5;chunk-signature=not-framing\r\n');
    expect((await send('PUT', `/${BUCKET}/plain`, payload)).status).toBe(200);
    const got = await send('GET', `/${BUCKET}/plain`, Buffer.alloc(0));
    expect(Buffer.from(await got.arrayBuffer()).equals(payload)).toBe(true);
  });
});
