import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

/**
 * `npm run build` (which the test run starts with) generates the API
 * reference from the types with TypeDoc into dist/api/: a page per exported
 * function, with the doc comments and option types of the source.
 */
describe('the API reference built with the package', () => {
  const api = path.join(ROOT, 'dist', 'api');
  const OPERATIONS = [
    'backup',
    'backupSource',
    'restore',
    'restoreSource',
    'restoreToTime',
    'listSnapshots',
    'listFiles',
    'dumpFile',
    'findFiles',
    'diffSnapshots',
    'forget',
    'prune',
    'copy',
    'check',
    'verify',
    'runDrill',
    'guard',
    'compliance',
    'status',
    'runJob',
    'handover',
    'pitr.restorePointInTime',
  ];

  it('has an index naming the package', () => {
    expect(existsSync(path.join(api, 'index.html')), 'dist/api/index.html: run `npm run build`').toBe(true);
    expect(readFileSync(path.join(api, 'index.html'), 'utf8')).toContain('lifeboat');
  });

  it.each(OPERATIONS)('documents %s', (name) => {
    const page = path.join(api, 'functions', `${name}.html`);
    expect(existsSync(page), `${page} missing`).toBe(true);
    expect(readFileSync(page, 'utf8')).toContain(name.split('.').pop()!);
  });

  it('shows the options of a long operation: its signal and progress callback, with their comments', () => {
    const options = readFileSync(path.join(api, 'interfaces', 'BackupOptions.html'), 'utf8');
    expect(options).toContain('signal');
    expect(options).toContain('onProgress');
    expect(options).toContain('interrupted');
  });
});
