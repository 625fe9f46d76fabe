import { describe, expect, it } from 'vitest';
import { originOf, publicUrl, withoutUrlPasswords } from './public-url.js';

describe('publicUrl', () => {
  it('drops passwords, query strings and fragments, and keeps the user only when asked', () => {
    expect(publicUrl('postgres://backup:pg-pw-1@127.0.0.1:5432/app?sslpassword=x#f', { user: true })).toBe(
      'postgres://backup@127.0.0.1:5432/app',
    );
    expect(publicUrl('sftp://backup:pw@nas.lan:2222/srv/lifeboat', { user: true })).toBe(
      'sftp://backup@nas.lan:2222/srv/lifeboat',
    );
    expect(publicUrl('redis://:redis-pw@10.0.0.5:6379/0', { user: true })).toBe('redis://10.0.0.5:6379/0');
    expect(publicUrl('http://admin:pw@127.0.0.1:8428/?token=t')).toBe('http://127.0.0.1:8428');
    expect(publicUrl('s3://acme-backups/site-1')).toBe('s3://acme-backups/site-1');
  });

  it('leaves plain paths alone and never echoes an unparsable URL', () => {
    expect(publicUrl('/var/backup/lifeboat')).toBe('/var/backup/lifeboat');
    expect(publicUrl('http://[::1:bad/secret-path')).toBe('http://(not shown: not a valid URL)');
  });

  it('shows only scheme and host of webhook and ping URLs, whose paths carry tokens', () => {
    expect(originOf('https://hooks.example.com/services/T000/B000/token-123?x=1')).toBe('https://hooks.example.com');
    expect(originOf('https://user:pw@hc-ping.com:8443/0f5e8d1c-uuid')).toBe('https://hc-ping.com:8443');
  });

  it('removes URL passwords from free text such as error messages', () => {
    expect(withoutUrlPasswords('cannot reach sftp://backup:s3cret@nas:22/srv (timeout); redis://:pw@h:6379 too')).toBe(
      'cannot reach sftp://backup@nas:22/srv (timeout); redis://@h:6379 too',
    );
    expect(withoutUrlPasswords('no repository at /var/backup: missing')).toBe('no repository at /var/backup: missing');
  });
});
