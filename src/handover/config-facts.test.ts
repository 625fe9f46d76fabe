import { describe, expect, it } from 'vitest';
import type { LifeboatConfig } from '../config/schema.js';
import { jobFacts, jobsOf, notificationFacts, repositoryFacts, secretSource, sourceSettings } from './config-facts.js';

describe('facts from lifeboat.yaml', () => {
  it('says where a repository password comes from, in the order the CLI looks, never what it is', () => {
    expect(secretSource({ url: '/r', password_file: '/etc/p' }, { LIFEBOAT_PASSWORD: 'x' })).toEqual({
      kind: 'password_file',
      where: '/etc/p',
    });
    expect(secretSource({ url: '/r', password_command: 'pass show repo' }, {})).toEqual({ kind: 'password_command' });
    expect(secretSource({ url: '/r' }, { LIFEBOAT_PASSWORD: 'hunter2' })).toEqual({
      kind: 'environment',
      where: 'LIFEBOAT_PASSWORD',
    });
    expect(secretSource({ url: '/r' }, { LIFEBOAT_PASSWORD_FILE: '/run/p' })).toEqual({
      kind: 'password_file',
      where: '/run/p',
    });
    expect(secretSource({ url: '/r' }, { LIFEBOAT_KEY_FILE: '/k', LIFEBOAT_PASSWORD: 'x' })).toEqual({
      kind: 'key_file',
      where: '/k',
    });
    expect(secretSource({ url: '/r' }, {})).toEqual({ kind: 'prompt' });
  });

  it('keeps the paths of secret files and the S3 endpoint host, never credentials', () => {
    const facts = repositoryFacts(
      'off',
      {
        url: 's3://b/p',
        endpoint: 'https://key:pw@s3.example.com/x?y=1',
        region: 'eu',
        credentials_file: '/etc/s3.env',
        password_file: '/etc/p',
        media: 'object',
        location: 'offsite',
      },
      {},
    );
    expect(facts).toMatchObject({
      url: 's3://b/p',
      storage: 's3',
      media: 'object',
      location: 'offsite',
      access: { endpoint: 'https://s3.example.com', region: 'eu', credentials_file: '/etc/s3.env' },
    });
    expect(JSON.stringify(facts)).not.toContain('pw');
    expect(repositoryFacts('nas', { url: 'sftp://backup:pw@nas:22/srv', password_file: '/p' }, {}).url).toBe(
      'sftp://backup@nas:22/srv',
    );
  });

  it('shows no command text of a source, and database URLs without passwords', () => {
    const cmd = sourceSettings({
      type: 'command',
      backup: 'VAULT_TOKEN=s.abc vault operator raft snapshot save /dev/stdout',
      restore: 'x',
      smoke: 'curl -H "Authorization: t0k"',
    });
    expect(JSON.stringify(cmd)).not.toMatch(/VAULT_TOKEN|s\.abc|t0k/);
    expect(sourceSettings({ type: 'mysql', url: 'mysql://root:pw@db/shop?socket=/x' }).url).toBe(
      'mysql://root@db/shop',
    );
  });

  it('finds the jobs and repositories of a source, and notification targets without tokens', () => {
    const config = {
      version: 1,
      jobs: {
        daily: { sources: ['db'], to: 'local' },
        weekly: { sources: 'all', to: 'local', copy_to: ['usb'] },
        monthly: { copy_to: ['offsite'] },
        other: { sources: ['files'], to: 'nas' },
      },
      notify: [
        { type: 'webhook', url: 'https://hooks.example.com/T0/secret', secret_file: '/etc/hmac' },
        { type: 'ping', url_file: '/etc/ping.url' },
        { type: 'slack', url: 'https://hooks.slack.com/services/T0/B0/XXSECRET' },
        { type: 'gotify', url: 'https://push.example.com', token_file: '/etc/gotify.token' },
        {
          type: 'matrix',
          homeserver: 'https://matrix.example.org',
          room: '!abc:example.org',
          access_token_file: '/etc/mx',
        },
      ],
    } as unknown as LifeboatConfig;
    expect(jobsOf('db', jobFacts(config))).toEqual({
      jobs: ['daily', 'weekly', 'monthly'],
      repositories: ['local', 'usb', 'offsite'],
    });
    expect(notificationFacts(config)).toEqual([
      { type: 'webhook', target: 'https://hooks.example.com', files: { secret_file: '/etc/hmac' } },
      { type: 'ping', target: 'the URL in url_file', files: { url_file: '/etc/ping.url' } },
      { type: 'slack', target: 'https://hooks.slack.com', files: {} },
      { type: 'gotify', target: 'https://push.example.com', files: { token_file: '/etc/gotify.token' } },
      {
        type: 'matrix',
        target: '!abc:example.org on https://matrix.example.org',
        files: { access_token_file: '/etc/mx' },
      },
    ]);
  });
});
