import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

/**
 * The public API recorded in docs/api-surface.md is the one dist/index.d.ts
 * declares (after `npm run build`): a change to an export or a signature fails
 * here until the file is regenerated, so that it shows as a diff in review.
 */
describe('the recorded public API', () => {
  it('matches the built declarations', async () => {
    // @ts-expect-error: a plain ESM script without declarations
    const { apiSurface, SURFACE_FILE } = (await import('../../scripts/api-surface.mjs')) as {
      apiSurface: () => string;
      SURFACE_FILE: string;
    };
    const now = apiSurface();
    const recorded = readFileSync(SURFACE_FILE, 'utf8');
    if (now !== recorded) {
      const fresh = path.join(os.tmpdir(), `lifeboat-api-surface-${process.pid}.md`);
      writeFileSync(fresh, now);
      const diff = spawnSync('diff', ['-u', SURFACE_FILE, fresh], { encoding: 'utf8' }).stdout;
      expect.fail(
        `the public API differs from docs/api-surface.md:\n${diff}\nIf the change is intended, run: npm run build && npm run api:surface (in ${ROOT}) and commit docs/api-surface.md`,
      );
    }
    expect(now).toContain('function guard<T>');
  }, 120_000);
});
