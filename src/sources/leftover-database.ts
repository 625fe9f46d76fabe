import { kept, removed, shellWord, type Removal, type RemovalContext } from '../leftovers/removal.js';
import type { ResourceOf } from '../leftovers/resource.js';

type DatabaseResource = ResourceOf<'database'>;

/** The command that drops the database by hand. */
export function dropDatabaseHint(r: DatabaseResource): string {
  const s = r.server;
  if (r.engine === 'postgres') {
    const sql = `DROP DATABASE IF EXISTS "${r.database}" WITH (FORCE)`;
    return `psql -h ${shellWord(s.host)} -p ${s.port} -U ${shellWord(s.user)} -d postgres -c ${shellWord(sql)}`;
  }
  const where = s.socket ? `--socket=${shellWord(s.socket)}` : `-h ${shellWord(s.host)} -P ${s.port}`;
  return `mariadb ${where} -u ${shellWord(s.user)} -p -e ${shellWord(`DROP DATABASE IF EXISTS \`${r.database}\``)}`;
}

function otherServer(
  now: { host: string; port: number; socket?: string },
  recorded: DatabaseResource['server'],
): string | undefined {
  const same =
    recorded.socket !== undefined || now.socket !== undefined
      ? recorded.socket === now.socket
      : recorded.host === now.host && recorded.port === now.port;
  return same ? undefined : `the source now names another server (${now.socket ?? `${now.host}:${now.port}`})`;
}

/**
 * Drop a scratch or staging database a killed process left, with the
 * credentials of the configured source of the recorded name, and only on the
 * server the record names. The drivers are loaded only when there is one to drop.
 */
export async function removeDatabase(
  r: DatabaseResource,
  source: string | null,
  ctx: RemovalContext,
): Promise<Removal> {
  const hint = dropDatabaseHint(r);
  const config = source === null ? undefined : ctx.sources[source];
  if (!config || config.type !== r.engine) {
    return kept(
      `no ${r.engine} source${source ? ` named "${source}"` : ''} is configured, so there are no credentials for its server`,
      hint,
    );
  }
  try {
    if (config.type === 'postgres') {
      const { configuredConnection } = await import('./postgres/connection.js');
      const server = await configuredConnection(config);
      const moved = otherServer(server, r.server);
      if (moved) return kept(moved, hint);
      if (!ctx.dryRun) await (await import('./postgres/scratch.js')).dropPostgresDatabase(server, r.database);
    } else if (config.type === 'mysql') {
      const { configuredConnection } = await import('./mysql/connection.js');
      const server = await configuredConnection(config);
      const moved = otherServer(server, r.server);
      if (moved) return kept(moved, hint);
      if (!ctx.dryRun) await (await import('./mysql/scratch.js')).dropMysqlDatabase(server, r.database);
    }
    return removed;
  } catch (err) {
    return kept((err as Error).message, hint);
  }
}
