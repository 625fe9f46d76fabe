import { describe, expect, it } from 'vitest';
import { redactUrl, redactUrlsInText } from './redact-url.js';

describe('redactUrl', () => {
  it('drops user and password and redacts secret-looking query values', () => {
    expect(redactUrl(new URL('s3://AKIA:topsecret@bucket/p?region=eu&secret_key=abc&sslpassword=x')).href).toBe(
      's3://bucket/p?region=eu&secret_key=redacted&sslpassword=redacted',
    );
  });
});

describe('redactUrlsInText', () => {
  it('hides the password of every URL in a message, with or without a user name', () => {
    expect(redactUrlsInText('cannot reach sftp://backup:s3cret@nas:22/srv (timeout); redis://:pw@h:6379 too')).toBe(
      'cannot reach sftp://backup:***@nas:22/srv (timeout); redis://:***@h:6379 too',
    );
    expect(redactUrlsInText('sftp://backup:s3cret@nas/srv', '')).toBe('sftp://backup@nas/srv');
  });

  it('hides secret query values inside URLs and leaves the rest of the text alone', () => {
    expect(redactUrlsInText('GET http://vm:8428/api?token=t0k3n&x=1 failed (token=plain text)')).toBe(
      'GET http://vm:8428/api?token=redacted&x=1 failed (token=plain text)',
    );
    expect(redactUrlsInText('no repository at /var/backup: missing')).toBe('no repository at /var/backup: missing');
  });
});
