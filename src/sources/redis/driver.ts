import { createReadStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, LifeboatError, isLifeboatError } from '../../errors/index.js';
import { nodeAt, walkTree } from '../../repository/snapshot-tree/index.js';
import type { Capture, Restored, RestoreContext, SourceDriver } from '../contract.js';
import { refuseExisting, writeStreamAtomically } from '../restore-file.js';
import { scratchFile } from '../scratch-dir.js';
import { readSnapshotFile, snapshotFileNode } from '../snapshot-file.js';
import { AOF_SNAPSHOT_PATH, planAof, type AofRecord } from './aof.js';
import { TruncatedInput } from './chunk-reader.js';
import { liveServerIn } from './live-server.js';
import { parseRdbStream, RdbFormatError, type RdbSummary } from './rdb-parser.js';
import { tapRdb } from './rdb-tap.js';
import { redisTarget } from './redis-target.js';
import { startReplicationSync } from './replication-sync.js';
import { RespConnection } from './resp-connection.js';
import { info } from './server-info.js';
import { loadAndCount } from './throwaway-server.js';

/** Where the RDB lives inside the snapshot. */
export const RDB_SNAPSHOT_PATH = '/redis/dump.rdb';

/**
 * Redis: a consistent RDB taken through the replication stream (the server
 * forks a snapshot for a "replica" that is us), streamed into the repository
 * while it is parsed and its checksum verified, plus the AOF files when the
 * server keeps them on this host. Restore places the RDB (and AOF) for a
 * server to load; inspect loads it into a throwaway server and counts keys.
 */
export const redisSource: SourceDriver<'redis'> = {
  type: 'redis',
  verifiedFields: ['keys', 'expiringKeys', 'rdbChecksum'],
  scratchTarget: scratchFile('dump.rdb'),

  async capture(config, ctx): Promise<Capture> {
    const target = await redisTarget(config);
    const connection = await RespConnection.open(target, ctx.signal);
    let server: Record<string, string>;
    let aof: Awaited<ReturnType<typeof planAof>>;
    try {
      server = await info(connection, 'server');
      aof = await planAof(connection, server.process_id, config.aof !== false);
    } catch (err) {
      connection.close();
      throw err;
    }
    ctx.log(
      aof.record.stored
        ? `redis AOF: storing ${aof.record.files!.length} file(s) from ${aof.mount!.from}`
        : `redis AOF not stored: ${aof.record.reason}`,
    );
    let summary: RdbSummary | undefined;
    let form: string | undefined;
    const rdb = async function* (): AsyncGenerator<Buffer> {
      try {
        const transfer = await startReplicationSync(connection);
        form = transfer.form;
        ctx.log(`receiving the RDB from ${target.label}${transfer.length ? ` (${transfer.length} bytes)` : ''}`);
        yield* tapRdb(transfer.chunks, (s) => (summary = s));
      } catch (err) {
        if (err instanceof RdbFormatError || err instanceof TruncatedInput) {
          throw new LifeboatError(
            ErrorCode.SourceFailed,
            `the RDB from redis at ${target.label} is not valid: ${err.message}`,
            { cause: err },
          );
        }
        throw err;
      } finally {
        connection.close(); // the master drops the would-be replica
      }
    };
    return {
      streams: [{ kind: 'stream', path: RDB_SNAPSHOT_PATH, open: rdb }],
      mounts: aof.mount ? [aof.mount] : undefined,
      record: async () => {
        if (!summary)
          throw new LifeboatError(
            ErrorCode.SourceFailed,
            `the RDB from redis at ${target.label} was not received completely`,
          );
        const expiring = Object.values(summary.expiringKeys).reduce((a, b) => a + b, 0);
        return {
          keys: summary.keys,
          expiringKeys: summary.expiringKeys,
          hasExpiringKeys: expiring > 0,
          rdbVersion: summary.rdbVersion,
          rdbChecksum: summary.checksum,
          rdbChecksumVerified: summary.checksumVerified,
          bytes: summary.bytes,
          redisVersion: server.redis_version ?? 'unknown',
          transfer: form,
          aof: aof.record,
        };
      },
      release: async () => connection.close(),
    };
  },

  async restore(ctx: RestoreContext<'redis'>): Promise<Restored> {
    const file = ctx.toFile
      ? path.resolve(ctx.toFile)
      : ctx.target
        ? path.join(path.resolve(ctx.target), 'dump.rdb')
        : undefined;
    if (!file)
      throw new LifeboatError(ErrorCode.Usage, 'a redis restore needs --to-file PATH or --target DIR', {
        hint: 'the RDB is placed there for a redis-server to load',
      });
    const dir = path.dirname(file);
    const live = await liveServerIn(dir, ctx.config);
    if (live && !ctx.force) {
      throw new LifeboatError(ErrorCode.Refused, `${dir} is the data directory of a running server: ${live}`, {
        hint: 'stop the server first (it would overwrite the file on its next save), or restore elsewhere; --force places the files anyway',
      });
    }
    const rdbNode = await snapshotFileNode(ctx.repo, ctx.snapshot, RDB_SNAPSHOT_PATH);
    const aofRecord = (ctx.snapshot.metadata as { record?: { aof?: AofRecord } } | undefined)?.record?.aof;
    const aofNode = await nodeAt(ctx.repo, ctx.snapshot.tree, AOF_SNAPSHOT_PATH).catch(() => undefined);
    const aofPath = aofNode
      ? path.join(
          dir,
          aofRecord?.layout === 'file' ? (aofRecord.name ?? 'appendonly.aof') : (aofRecord?.name ?? 'appendonlydir'),
        )
      : undefined;
    await refuseExisting(file, ctx.force, 'an RDB file');
    if (aofPath) await refuseExisting(aofPath, ctx.force, 'an AOF');

    await writeStreamAtomically(file, readSnapshotFile(ctx.repo, rdbNode, RDB_SNAPSHOT_PATH));
    if (aofNode && aofPath) await restoreAof(ctx, aofNode.subtree, aofPath, aofRecord?.layout === 'file');
    ctx.log(
      `placed the RDB at ${file}${aofPath ? ` and the AOF at ${aofPath}` : ''}; give them to the server's user (chown) before starting it`,
    );
    return { location: file, details: { file, aof: aofPath } };
  },

  async inspect(restored, ctx) {
    const file = restored.details.file as string;
    let parsed: RdbSummary;
    try {
      parsed = await parseRdbStream(createReadStream(file));
    } catch (err) {
      if (isLifeboatError(err)) throw err;
      throw new LifeboatError(ErrorCode.Corrupt, `the restored RDB ${file} is not valid: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const databases = Math.max(0, ...Object.keys(parsed.keys).map((db) => Number(db.slice(2)) + 1));
    const loaded = await loadAndCount(file, { databases, signal: ctx.signal, log: ctx.log });
    return {
      keys: loaded.keys,
      expiringKeys: loaded.expiringKeys,
      rdbChecksum: parsed.checksum,
      rdbVersion: parsed.rdbVersion,
      bytes: parsed.bytes,
      loadedBy: loaded.redisVersion,
    };
  },
};

/** Write the stored AOF (a directory of files, or one file) to `destination`, replacing what is there only after it was written completely. */
async function restoreAof(
  ctx: RestoreContext<'redis'>,
  subtree: string | undefined,
  destination: string,
  singleFile: boolean,
): Promise<void> {
  if (singleFile) {
    const node = await snapshotFileNode(ctx.repo, ctx.snapshot, `${AOF_SNAPSHOT_PATH}/${path.basename(destination)}`);
    await writeStreamAtomically(destination, readSnapshotFile(ctx.repo, node, destination));
    return;
  }
  const staging = path.join(path.dirname(destination), `.${path.basename(destination)}.lifeboat-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { mode: 0o700 });
  try {
    if (subtree) {
      for await (const { path: inSnapshot, node } of walkTree(ctx.repo, subtree, AOF_SNAPSHOT_PATH)) {
        if (node.type !== 'file') continue; // the AOF directory holds only plain files
        const relative = inSnapshot.slice(AOF_SNAPSHOT_PATH.length + 1);
        await writeStreamAtomically(path.join(staging, relative), readSnapshotFile(ctx.repo, node, inSnapshot));
      }
    }
    await rm(destination, { recursive: true, force: true });
    await rename(staging, destination);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}
