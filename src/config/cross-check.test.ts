import { describe, expect, it } from 'vitest';
import { parseConfig } from './load.js';
import type { ConfigProblem } from './problems.js';

const HEAD = `version: 1
repositories:
  local:   { url: /var/backup/lifeboat, password_file: /etc/lifeboat/repo.pass }
  offsite: { url: /mnt/offsite/lifeboat, password_file: /etc/lifeboat/repo.pass, location: offsite,
             retention: { keep_daily: 30, keep_weekly: 12, keep_monthly: 12 } }
  usb:     { url: /mnt/usb/lifeboat, password_file: /etc/lifeboat/repo.pass }
sources:
  app-db: { type: sqlite, path: /var/lib/app/app.db }
jobs:
`;

function problemsOf(jobs: string, head = HEAD): ConfigProblem[] {
  try {
    parseConfig(head + jobs, '/etc/lifeboat/lifeboat.yaml', {});
    return [];
  } catch (err) {
    return ((err as { context?: { problems?: ConfigProblem[] } }).context?.problems ?? []) as ConfigProblem[];
  }
}

const messages = (jobs: string, head?: string) => problemsOf(jobs, head).map((p) => p.message);

/** `config validate` catches at load time the job steps that could only fail or do nothing when run. */
describe('cross-checks of job steps', () => {
  it('accepts a copy job with the off-site retention of the runbook, with or without sources', () => {
    expect(messages('  sync: { copy_to: [offsite], then: [forget, check] }\n')).toEqual([]);
    expect(messages('  sync: { sources: [app-db], copy_to: [offsite], then: [forget, verify] }\n')).toEqual([]);
  });

  it('refuses a then: step in a job with neither to nor copy_to', () => {
    expect(messages('  tidy: { then: [forget] }\n')).toEqual(['the `forget` step has no repository to act on']);
    expect(messages('  tidy: { then: [prune, check] }\n')).toEqual([
      'the `prune` step has no repository to act on',
      'the `check` step has no repository to act on',
    ]);
  });

  it('refuses forget where a repository of the job has no retention to apply', () => {
    expect(messages('  nightly: { sources: [app-db], to: local, then: [forget] }\n')).toEqual([
      'the `forget` step has no retention policy for repository "local"',
    ]);
    expect(messages('  nightly: { sources: [app-db], to: local, keep_last: 5, then: [forget] }\n')).toEqual([]);
    expect(messages('  sync: { copy_to: [usb], then: [forget] }\n')).toEqual([
      'the `forget` step has no retention policy for copy target "usb"',
    ]);
    const [problem] = problemsOf('  sync: { copy_to: [usb], then: [forget] }\n');
    expect(problem!.hint).toContain('repositories.usb');
  });

  it('refuses a copy with no repository to copy from', () => {
    const only = `version: 1
repositories:
  offsite: { url: /mnt/offsite/lifeboat, password_file: /etc/lifeboat/repo.pass }
jobs:
`;
    expect(messages('  sync: { copy_to: [offsite] }\n', only)).toEqual(['the copy has no repository to copy from']);
    expect(messages('  sync: { sources: [app-db], to: local, copy_to: [local, offsite] }\n')).toEqual([
      'the job copies "local" into itself',
    ]);
  });

  it('refuses a drill with no source to restore or an unknown one', () => {
    const noSources = `version: 1
repositories:
  local: { url: /var/backup/lifeboat, password_file: /etc/lifeboat/repo.pass }
jobs:
`;
    expect(messages('  monthly: { drill: { within: 30d } }\n', noSources)).toEqual([
      'the drill has no source to restore',
    ]);
    expect(messages('  monthly: { drill: { sources: [app-bd] } }\n')).toEqual(['no source named "app-bd"']);
  });
});
