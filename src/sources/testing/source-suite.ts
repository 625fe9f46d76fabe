/**
 * The shared suite every source driver's test calls with a fixture for a real
 * server (or file) on loopback. Imports vitest: never import it from runtime code.
 *
 * @module
 */

import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceConfigOf, SourceType } from '../../config/source-schemas.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { Repository } from '../../repository/repository.js';
import { openStorage } from '../../storage/registry.js';
import type { RestoreTarget } from '../contract.js';
import { backupSource, restoreSource, sourceMetadata } from '../run-source.js';
import { watchProcessArgs } from './proc-watch.js';

export interface SourceFixture<T extends SourceType> {
  /** Points at a live server or file that holds data. */
  config: SourceConfigOf<T>;
  /** Strings that must never appear in process arguments, log lines or snapshot metadata. */
  secrets: string[];
  /** Start writing continuously (the suite backs up meanwhile); the result stops the writer and resolves once it stopped. */
  startWriter?: () => Promise<() => Promise<void>>;
  /** A fresh restore target for each call (a new database name, file path or directory). */
  restoreTarget: () => Promise<RestoreTarget>;
  /** The same kind of source, but unreachable (server down, wrong port, missing file). */
  unreachable: SourceConfigOf<T>;
  /** Fields every record must have. */
  recordedFields: string[];
  /** Whether restoring to an existing target must be refused without `force` (default true). */
  refusesExistingTarget?: boolean;
  /** Stop servers, remove files. */
  cleanup: () => Promise<void>;
}

const PASSWORD = 'source-suite-password';

export function describeSourceConformance<T extends SourceType>(
  type: T,
  makeFixture: () => Promise<SourceFixture<T>>,
  options: { label?: string; timeoutMs?: number } = {},
): void {
  const timeoutMs = options.timeoutMs ?? 120_000;
  describe(`Source conformance: ${type}${options.label ? ` (${options.label})` : ''}`, () => {
    let fixture: SourceFixture<T>;
    let work: string;
    let repo: Repository;

    beforeAll(async () => {
      work = await mkdtemp(path.join(os.tmpdir(), `lifeboat-source-${type}-`));
      fixture = await makeFixture();
      repo = await Repository.init(await openStorage(path.join(work, 'repo'), { create: true }), Buffer.from(PASSWORD));
    }, timeoutMs);

    afterAll(async () => {
      await repo?.close();
      await fixture?.cleanup();
      await rm(work, { recursive: true, force: true });
    }, timeoutMs);

    it(
      'backs up while the data changes, and the restored copy matches what was recorded',
      async () => {
        const logs: string[] = [];
        const watch = watchProcessArgs(fixture.secrets);
        const stopWriter = fixture.startWriter ? await fixture.startWriter() : undefined;
        let result;
        try {
          result = await backupSource(repo, 'under-test', fixture.config, {
            log: (l) => logs.push(l),
            tags: ['suite'],
          });
        } finally {
          await stopWriter?.();
        }
        const meta = sourceMetadata(result.snapshot);
        expect(meta?.source).toEqual({ type, name: 'under-test', format: 1 });
        for (const field of fixture.recordedFields) expect(meta!.record, `record has ${field}`).toHaveProperty(field);
        expect(result.snapshot.tags).toContain('suite');

        const restored = await restoreSource(repo, result.snapshot, {
          ...(await fixture.restoreTarget()),
          config: fixture.config,
          log: (l) => logs.push(l),
        });
        expect(restored.checks.length, 'some recorded fields were compared').toBeGreaterThan(0);
        for (const check of restored.checks)
          expect(check.actual, `restored ${check.field} matches the record`).toEqual(check.expected);

        const { leaks, samples } = await watch.stop();
        expect(samples).toBeGreaterThan(0);
        expect(leaks, 'secrets in process arguments').toEqual([]);
        const visible = JSON.stringify({ logs, metadata: result.snapshot.metadata, restored: restored.restored });
        for (const secret of fixture.secrets)
          expect(visible.includes(secret), 'a secret in logs, metadata or results').toBe(false);
      },
      timeoutMs,
    );

    it(
      'refuses to restore over an existing target unless forced',
      async () => {
        if (fixture.refusesExistingTarget === false) return;
        const { snapshot } = await backupSource(repo, 'under-test', fixture.config);
        const target = await fixture.restoreTarget();
        await restoreSource(repo, snapshot, { ...target, config: fixture.config, verify: false });
        const again = await restoreSource(repo, snapshot, { ...target, config: fixture.config }).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(again).toBeInstanceOf(LifeboatError);
        expect((again as LifeboatError).code).toBe(ErrorCode.Refused);
        const forced = await restoreSource(repo, snapshot, { ...target, force: true, config: fixture.config });
        for (const check of forced.checks) expect(check.actual, check.field).toEqual(check.expected);
      },
      timeoutMs,
    );

    it(
      'fails cleanly when the source is unreachable, and saves no snapshot',
      async () => {
        const before = (await repo.listSnapshots()).snapshots.length;
        const err = await backupSource(repo, 'unreachable', fixture.unreachable).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, 'the backup must fail').toBeInstanceOf(LifeboatError);
        expect((err as LifeboatError).code).toBe(ErrorCode.SourceFailed);
        expect((err as LifeboatError).message.length).toBeGreaterThan(10);
        const after = (await repo.listSnapshots()).snapshots;
        expect(after.length).toBe(before);
        expect(after.some((s) => s.source === 'unreachable')).toBe(false);
      },
      timeoutMs,
    );
  });
}
