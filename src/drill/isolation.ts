/**
 * Where a drill of a postgres or mysql dump restores it: a throwaway server of
 * the dump's major version, started for the drill in a private temp directory
 * and removed afterwards (the production server is not touched at all), or a
 * scratch database on the configured server. `drill.server` of the source
 * decides: `auto` (the default) takes the throwaway server when its binaries
 * are present and says in the report why it did not otherwise; `throwaway`
 * refuses to drill without one; `scratch_database` is the earlier behaviour.
 *
 * @module
 */

import type { SourceConfig } from '../config/source-schemas.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { SourceRecord } from '../sources/contract.js';
import { mariadbThrowawayBinaries, startMariadbThrowaway } from '../sources/mysql/throwaway.js';
import { postgresThrowawayBinaries, startPostgresThrowaway } from '../sources/postgres/throwaway.js';
import type { ThrowawayDatabase } from '../sources/throwaway-databases.js';
import type { DrillIsolationShape } from './report-shape.js';

export interface Isolation {
  report: DrillIsolationShape;
  /** The configuration the drill restores with: the source's own, or pointed at the throwaway server. */
  config: SourceConfig;
  /** Stop and remove the throwaway server (nothing for a scratch database). */
  stop(): Promise<void>;
}

/** A recorded fact of the dump: at the top of the record, or in the first database's of a server-wide one. */
function recorded(record: SourceRecord | undefined, key: string): unknown {
  if (!record) return undefined;
  if (record[key] !== undefined) return record[key];
  const dbs = record.databases as Record<string, SourceRecord> | undefined;
  return dbs && typeof dbs === 'object' ? Object.values(dbs)[0]?.[key] : undefined;
}

export async function isolate(
  config: SourceConfig,
  record: SourceRecord | undefined,
  o: { tempBase?: string; signal?: AbortSignal; log?: (line: string) => void },
): Promise<Isolation | undefined> {
  if (config.type !== 'postgres' && config.type !== 'mysql') return undefined;
  const wanted = config.drill?.server ?? 'auto';
  const scratch = (detail: string): Isolation => ({
    report: { server: 'scratch_database', detail },
    config,
    stop: async () => {},
  });
  if (wanted === 'scratch_database') return scratch('drill.server: scratch_database');
  const found =
    config.type === 'postgres'
      ? postgresThrowawayBinaries(
          typeof recorded(record, 'serverVersionNum') === 'number'
            ? Math.floor((recorded(record, 'serverVersionNum') as number) / 10000)
            : undefined,
          config.bin_dir,
        )
      : mariadbThrowawayBinaries(recorded(record, 'serverVersion') as string | undefined, config.drill?.bin_dir);
  if ('why' in found) {
    if (wanted === 'throwaway')
      throw new LifeboatError(ErrorCode.Refused, `no throwaway server for the drill: ${found.why}`, {
        hint: 'install the server binaries of that version (bin_dir), or set drill.server: scratch_database',
      });
    return scratch(`no throwaway server (${found.why}), so a scratch database on the configured server`);
  }
  let server: ThrowawayDatabase;
  if ('bin' in found) {
    server = await startPostgresThrowaway({ bin: found.bin, ...o });
  } else {
    server = await startMariadbThrowaway({ ...found, ...o });
  }
  // No password_file: the throwaway server trusts its private socket, and no secret of production reaches it.
  const { password_file: _password, ...rest } = config;
  void _password;
  return {
    report: { server: 'throwaway', detail: `started from ${server.binaries} on a private socket, removed afterwards` },
    config: { ...rest, url: server.url } as SourceConfig,
    stop: () => server.stop(),
  };
}
