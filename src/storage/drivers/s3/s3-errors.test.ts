import { describe, expect, it } from 'vitest';
import { LifeboatError } from '../../../errors/index.js';
import { redact, s3Error, type S3ErrorContext } from './s3-errors.js';

/** Errors shaped as the AWS SDK v3 throws them (service errors carry name, $fault and $metadata). */
const service = (name: string, status: number, message = `${name} happened`) =>
  Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'REQ1' },
  });
const network = (code: string) =>
  Object.assign(new Error(`connect ${code} 127.0.0.1:9`), { code, $metadata: { attempts: 1 } });

const ctx: S3ErrorContext = {
  op: 'get',
  name: 'data/ab/x',
  bucket: 'bkt',
  location: 's3://bkt/repo on 127.0.0.1:9000',
  credentialSource: 'credentials_file /etc/s3.env',
  secrets: ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
};

describe('s3Error', () => {
  it.each([
    ['NoSuchKey', 404],
    ['NotFound', 404],
  ])('maps %s to not_found', (name, status) => {
    const err = s3Error(service(name, status), ctx);
    expect(err.code).toBe('not_found');
    expect(err.context).toMatchObject({ name: 'data/ab/x', httpStatus: status, requestId: 'REQ1' });
  });

  it('maps NoSuchBucket to repository_not_found with a hint', () => {
    const err = s3Error(service('NoSuchBucket', 404), ctx);
    expect(err.code).toBe('repository_not_found');
    expect(err.hint).toContain('lifeboat init');
  });

  it.each(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken'])(
    'maps %s to a non-retryable storage error about credentials',
    (name) => {
      const err = s3Error(service(name, 403), ctx);
      expect(err.code).toBe('storage');
      expect(err.retryable).toBe(false);
      expect(err.hint).toContain('credentials_file /etc/s3.env');
    },
  );

  it.each([
    ['SlowDown', 503],
    ['Throttling', 400],
    ['TooManyRequests', 429],
    ['InternalError', 500],
    ['ServiceUnavailable', 503],
    ['BadGateway', 502],
    ['RequestTimeout', 400],
  ])('marks %s (HTTP %i) retryable', (name, status) => {
    const err = s3Error(service(name, status), ctx);
    expect(err.code).toBe('storage');
    expect(err.retryable).toBe(true);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'])(
    'marks the network error %s retryable',
    (code) => {
      const err = s3Error(network(code), ctx);
      expect(err.retryable).toBe(true);
      expect(err.context).toMatchObject({ network: code });
      expect(err.hint).toContain('reachable');
    },
  );

  it('marks SDK timeouts and errors wrapped in a cause retryable', () => {
    expect(s3Error(Object.assign(new Error('timed out'), { name: 'TimeoutError' }), ctx).retryable).toBe(true);
    expect(s3Error(new Error('outer', { cause: network('ECONNRESET') }), ctx).retryable).toBe(true);
  });

  it('leaves other client errors non-retryable', () => {
    const err = s3Error(service('InvalidArgument', 400), ctx);
    expect(err.code).toBe('storage');
    expect(err.retryable).toBe(false);
  });

  it('never lets a known secret through, whatever the server said', () => {
    const err = s3Error(service('SignatureDoesNotMatch', 403, `bad signature for ${ctx.secrets[0]}`), ctx);
    expect(err.message).not.toContain(ctx.secrets[0]);
    expect(err.message).toContain('[redacted]');
  });

  it('passes LifeboatErrors through', () => {
    const original = new LifeboatError('refused', 'no');
    expect(s3Error(original, ctx)).toBe(original);
  });
});

describe('redact', () => {
  it('replaces every occurrence and ignores trivially short values', () => {
    expect(redact('a SECRET b SECRET', ['SECRET'])).toBe('a [redacted] b [redacted]');
    expect(redact('abc', ['ab'])).toBe('abc');
  });
});
