import { describe, expect, it } from 'vitest';
import { asyncWalPushArgs } from './wal-push-async.js';

/** Only the plain archive_command form takes the fast path; anything else goes to the full command line. */
describe('the fast path of wal-push --async', () => {
  it('recognises the archive_command form in its spellings', () => {
    expect(
      asyncWalPushArgs(['--config', 'c.yaml', '--quiet', 'wal-push', '--async', '--source', 'db', 'pg_wal/X']),
    ).toEqual({
      config: 'c.yaml',
      quiet: true,
      source: 'db',
      file: 'pg_wal/X',
    });
    expect(asyncWalPushArgs(['wal-push', '--source=db', 'X', '--async'])).toEqual({
      config: undefined,
      quiet: false,
      source: 'db',
      file: 'X',
    });
  });

  it('leaves every other command line to the full CLI', () => {
    expect(asyncWalPushArgs(['wal-push', '--source', 'db', 'X'])).toBeUndefined();
    expect(asyncWalPushArgs(['--json', 'wal-push', '--async', '--source', 'db', 'X'])).toBeUndefined();
    expect(asyncWalPushArgs(['wal-push', '--async', '--source', 'db', 'X', 'Y'])).toBeUndefined();
    expect(asyncWalPushArgs(['wal-push', '--async', '--help'])).toBeUndefined();
    expect(asyncWalPushArgs(['wal-push', '--async', 'X'])).toBeUndefined();
    expect(asyncWalPushArgs(['backup', 'wal-push', '--async', '--source', 'db', 'X'])).toBeUndefined();
  });
});
