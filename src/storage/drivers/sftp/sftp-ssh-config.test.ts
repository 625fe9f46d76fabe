import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expandSshPath, hostPatternsMatch, readSshSettings, sshSettingsFromText } from './sftp-ssh-config.js';

describe('~/.ssh/config as ssh reads it', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-sshcfg-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('takes the first value of each keyword from the matching Host blocks; IdentityFile accumulates', () => {
    const text = `User global-first
Host nas backup-*  !backup-old
  HostName=10.0.0.5
  Port 2222
  IdentityFile "~/.ssh/nas key"
Host *
  User fallback
  Port 22
  IdentityFile ~/.ssh/id_other
  UserKnownHostsFile ~/.ssh/kh1 ~/.ssh/kh2
Match host nas
  User from-match
`;
    expect(sshSettingsFromText(text, 'nas')).toEqual({
      hostName: '10.0.0.5',
      user: 'global-first',
      port: 2222,
      identityFiles: ['~/.ssh/nas key', '~/.ssh/id_other'],
      userKnownHostsFiles: ['~/.ssh/kh1', '~/.ssh/kh2'],
    });
    expect(sshSettingsFromText(text, 'backup-7')).toMatchObject({ hostName: '10.0.0.5', port: 2222 });
    expect(sshSettingsFromText(text, 'backup-old')).toEqual({
      user: 'global-first',
      port: 22,
      identityFiles: ['~/.ssh/id_other'],
      userKnownHostsFiles: ['~/.ssh/kh1', '~/.ssh/kh2'],
    });
    expect(sshSettingsFromText('# nothing\n', 'x')).toEqual({ identityFiles: [] });
  });

  it('matches Host patterns with *, ? and negation, case-insensitively', () => {
    expect(hostPatternsMatch(['*.example.org'], 'NAS.example.org')).toBe(true);
    expect(hostPatternsMatch(['nas?'], 'nas1')).toBe(true);
    expect(hostPatternsMatch(['nas?'], 'nas12')).toBe(false);
    expect(hostPatternsMatch(['*', '!secret'], 'secret')).toBe(false);
    expect(hostPatternsMatch(['!secret'], 'other')).toBe(false);
  });

  it('expands ~ and %d %h %p %r %n %% in paths, relative ones from the home directory', () => {
    const t = { home: '/home/u', host: '10.0.0.5', port: 2222, user: 'backup', alias: 'nas' };
    expect(expandSshPath('~/.ssh/id_%r@%h:%p', t)).toBe('/home/u/.ssh/id_backup@10.0.0.5:2222');
    expect(expandSshPath('%d/keys/%n%%', t)).toBe('/home/u/keys/nas%');
    expect(expandSshPath('.ssh/kh', t)).toBe('/home/u/.ssh/kh');
  });

  it('reads ~/.ssh/config with its Includes; a missing config means no settings', async () => {
    expect(await readSshSettings('nas', { HOME: home })).toEqual({ identityFiles: [] });
    mkdirSync(path.join(home, '.ssh', 'conf.d'), { recursive: true });
    writeFileSync(path.join(home, '.ssh', 'conf.d', 'nas.conf'), 'Host nas\n  HostName 10.0.0.9\n  User inc\n');
    writeFileSync(path.join(home, '.ssh', 'config'), 'Include conf.d/*.conf\nHost nas\n  User later\n  Port 2200\n');
    expect(await readSshSettings('nas', { HOME: home })).toEqual({
      hostName: '10.0.0.9',
      user: 'inc',
      port: 2200,
      identityFiles: [],
    });
  });
});
