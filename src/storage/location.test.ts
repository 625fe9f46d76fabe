import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeLocation, parseLocation } from './location.js';

describe('parseLocation', () => {
  it('treats a Windows drive letter as a path, not a scheme', () => {
    expect(parseLocation('C:\\repo').protocol).toBe('file:');
  });
});

describe('describeLocation', () => {
  it.each([
    ['sftp://backup:s3cr3t@nas.local:2222/srv/repo', 'sftp://nas.local:2222/srv/repo'],
    ['sftp://backup@nas.local/srv/repo', 'sftp://nas.local/srv/repo'],
    ['s3://AKIAXXXX:topsecret@bucket/prefix', 's3://bucket/prefix'],
    ['s3://bucket/prefix?region=eu-west-1&secret_key=abc', 's3://bucket/prefix?region=eu-west-1&secret_key=redacted'],
    ['memory://x', 'memory://x'],
    ['file:///srv/repo', '/srv/repo'],
    ['/srv/repo', '/srv/repo'],
  ])('%s → %s', (input, expected) => {
    expect(describeLocation(input)).toBe(expected);
  });

  it('shows relative paths as absolute', () => {
    expect(describeLocation('./repo')).toBe(path.resolve('repo'));
  });

  it('strips credentials even from unparseable URLs', () => {
    const shown = describeLocation('sftp://user:pa ss@bad host[/x');
    expect(shown).not.toContain('pa ss');
    expect(shown).not.toContain('user');
  });
});
