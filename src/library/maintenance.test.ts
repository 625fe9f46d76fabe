import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../archiver/backup.js';
import { ErrorCode } from '../errors/index.js';
import { Repository } from '../repository/repository.js';
import { MemoryStorage } from '../storage/drivers/memory/index.js';
import { stats, tagSnapshots, unlockRepository } from './maintenance.js';
import { serveWebdav } from './webdav.js';

/** The library faces of `stats`, `tag`, `unlock` and `webdav`, on a repository in memory. */
describe('maintenance functions', () => {
  let dir: string;
  let repo: Repository;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-library-maintenance-'));
    await writeFile(path.join(dir, 'one'), 'same content\n');
    await writeFile(path.join(dir, 'two'), 'same content\n');
    repo = await Repository.init(new MemoryStorage(new Map()), Buffer.from('library maintenance password'));
    await backup(repo, { paths: [dir], tags: ['a'], source: 'files' });
  });
  afterAll(async () => {
    await repo.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stats, tagSnapshots and unlockRepository choose snapshots as the CLI does', async () => {
    const s = await stats(repo, { source: 'files' });
    expect(s.selection).toMatchObject({ snapshots: 1, files: 2, rawBytes: 26, uniqueBytes: 13, dedupRatio: 2 });
    await expect(tagSnapshots(repo, {}, { add: ['x'] })).rejects.toMatchObject({ code: ErrorCode.Usage });
    await expect(tagSnapshots(repo, { tags: ['none'] }, { add: ['x'] })).rejects.toMatchObject({
      code: ErrorCode.NotFound,
    });
    const tagged = await tagSnapshots(repo, { snapshots: ['latest'], source: 'files' }, { set: ['b'] });
    expect(tagged.changed[0]!.tagsAfter).toEqual(['b']);
    expect((await repo.listSnapshots()).snapshots.map((x) => x.tags)).toEqual([['b']]);
    expect(await unlockRepository(repo)).toEqual({ removed: [], kept: [] });
  });

  it('serveWebdav lists the snapshots to a client with the token, and to none without', async () => {
    const token = 'a-token-of-enough-length';
    await expect(serveWebdav(repo, { token: 'short' })).rejects.toMatchObject({ code: ErrorCode.Usage });
    const server = await serveWebdav(repo, { token });
    try {
      const ok = await fetch(server.url, {
        method: 'PROPFIND',
        headers: { depth: '1', authorization: `Bearer ${token}` },
      });
      expect(ok.status).toBe(207);
      const [snapshot] = (await repo.listSnapshots()).snapshots;
      expect(await ok.text()).toContain(`<D:href>/${snapshot!.id}/</D:href>`);
      expect((await fetch(server.url, { method: 'PROPFIND', headers: { depth: '1' } })).status).toBe(401);
    } finally {
      await server.close();
    }
  });
});
