/**
 * The restore commands the pack prints, one place for the runbook and the
 * script, so both say exactly the same. Every command restores into a new
 * place — a directory or file under $RESTORE_ROOT, a new database — and never
 * passes --force, so none of them can overwrite production; swapping the
 * checked copy in is a separate, deliberate step (`afterRestore`).
 *
 * @module
 */

import path from 'node:path';
import type { SourceConfig } from '../config/source-schemas.js';
import type { RestoreCommand } from './inventory.js';

export const DEFAULT_RESTORE_ROOT = '/var/tmp/lifeboat-restore';

/** Inside double quotes, only these characters keep a special meaning in sh. */
function escapeInDoubleQuotes(text: string): string {
  return text.replace(/(["\\$`])/g, '\\$1');
}

/** One shell word: bare when it is plainly safe (names, ids), else single-quoted. */
export function shellWord(text: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** `$RESTORE_ROOT/<source>/<name>`, quoted so the variable expands and nothing else does. */
function underRoot(source: string, file?: string): string {
  return `"$RESTORE_ROOT/${escapeInDoubleQuotes(file ? `${source}/${file}` : source)}"`;
}

/** The database a restore creates beside the production one: `<database>_restored`. */
export function restoredDatabaseName(source: string, url: string): string {
  let database = '';
  try {
    database = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  } catch {
    // an unparsable URL: fall back to the source's name
  }
  const base = (database || source).replace(/[^A-Za-z0-9_]/g, '_');
  return `${base}_restored`;
}

function servesAllDatabases(url: string): boolean {
  return URL.canParse(url) && new URL(url).pathname.replace(/^\//, '') === '';
}

function sealed(source: SourceConfig): boolean {
  return source.type === 'files' && Boolean(source.seal_to?.length);
}

export function restoreCommand(
  name: string,
  source: SourceConfig,
  repository: string,
  snapshot: string,
): RestoreCommand {
  const base = `lifeboat restore ${shellWord(snapshot)} --repo ${shellWord(repository)}`;
  const identity = sealed(source) ? ' --identity "$AGE_IDENTITY"' : '';
  let destination: string;
  switch (source.type) {
    case 'files':
    case 'victoriametrics':
    case 'prometheus':
      destination = `--target ${underRoot(name)}${identity}`;
      break;
    case 'sqlite':
      destination = `--to-file ${underRoot(name, path.basename(source.path))}`;
      break;
    case 'redis':
      destination = `--to-file ${underRoot(name, 'dump.rdb')}`;
      break;
    case 'command':
      destination = `--to-file ${underRoot(name, source.filename ?? `${name}.out`)}`;
      break;
    case 'postgres':
    case 'mysql':
      // A source of every database of a server restores one database at a time, named in $DATABASE.
      destination = servesAllDatabases(source.url)
        ? '--database "$DATABASE" --to-database "${DATABASE}_restored"'
        : `--to-database ${shellWord(restoredDatabaseName(name, source.url))}`;
      break;
    case 'docker':
      // A snapshot may hold several volumes: one restore per volume, named in $VOLUME, into a new volume beside it.
      destination = '--volume "$VOLUME" --to-volume "${VOLUME}_restored"';
      break;
  }
  const needs = [
    ...(identity ? ['AGE_IDENTITY'] : []),
    ...(destination.includes('$DATABASE') ? ['DATABASE'] : []),
    ...(destination.includes('$VOLUME') ? ['VOLUME'] : []),
  ];
  return {
    repository,
    snapshot,
    command: `${base} ${destination}`,
    needs,
    verify: `lifeboat verify ${shellWord(snapshot)} --repo ${shellWord(repository)}${identity}`,
    drill: `lifeboat drill --source ${shellWord(name)} --repo ${shellWord(repository)} --snapshot ${shellWord(snapshot)}${identity}`,
  };
}

/** What to do once the restore command succeeded and printed its checks. */
export function afterRestore(name: string, source: SourceConfig): string[] {
  const where = `\`$RESTORE_ROOT/${name}\``;
  switch (source.type) {
    case 'files':
      return [
        `The files are under ${where} with their full original paths (\`${example(source.paths)}\` is at \`$RESTORE_ROOT/${name}${example(source.paths)}\`); modes and times are restored, owners only when run as root.`,
        ...(sealed(source)
          ? [
              `The files were sealed with age: each is decrypted with the offline identity in \`$AGE_IDENTITY\`. Without Lifeboat, a sealed stream opens with the standard age CLI: \`lifeboat dump SNAPSHOT PATH.age --repo REPO | age -d -i "$AGE_IDENTITY"\`.`,
            ]
          : []),
        'Compare them with what is in place, then copy them into place (for example with `rsync -a`).',
      ];
    case 'sqlite':
      return [
        `Stop the application, move \`${source.path}\` aside together with its \`-wal\` and \`-shm\` files, put the restored file in its place with the same owner and mode, start the application.`,
      ];
    case 'postgres':
      return [
        `The dump was restored into a new database \`${restoredDatabaseName(name, source.url)}\` on the source's server; the original is untouched.`,
        'Check it, then stop the application and swap the names (`ALTER DATABASE … RENAME TO …`), or restore again with `--to-database ORIGINAL --force`, which drops the original only once the new copy is complete.',
      ];
    case 'mysql':
      return [
        `The dump was restored into a new database \`${restoredDatabaseName(name, source.url)}\`; the original is untouched.`,
        'Check it, then point the application at it, or restore again with `--to-database ORIGINAL --force` (MySQL cannot rename a database; the original is dropped and created again).',
      ];
    case 'redis':
      return [
        "Stop redis-server, put `dump.rdb` (and the AOF restored next to it, if any) into its `dir`, give them to the server's user (`chown`), start it.",
      ];
    case 'victoriametrics':
      return [
        `Start victoria-metrics with \`-storageDataPath=$RESTORE_ROOT/${name}\` (or stop the server and move the directory into place as \`${source.data_dir}\`).`,
      ];
    case 'prometheus':
      return [
        `Start prometheus with \`--storage.tsdb.path=$RESTORE_ROOT/${name}\` (or stop the server and move the directory into place as \`${source.data_dir}\`).`,
      ];
    case 'command':
      return [
        `The command's output is in ${where}; feed it to the program that restores it.`,
        ...(source.restore
          ? [
              'Or let Lifeboat run the `restore:` command configured for this source, which writes to the live system: the same restore command without `--to-file`.',
            ]
          : []),
      ];
    case 'docker':
      return [
        'The volume was restored into a new volume `${VOLUME}_restored`, created with the recorded driver, options and labels; the original is untouched.',
        "Point the containers at it, or stop them and restore again with `--to-volume ORIGINAL --force`, which replaces the original volume's contents.",
      ];
  }
}

/** A configured path without glob characters, to show where restored files land. */
function example(paths: string[]): string {
  let p = paths[0] ?? '/';
  while (/[*?[{]/.test(p)) p = path.dirname(p);
  return p;
}

/** Programs the new machine needs for this source's restore and checks. */
export function toolsFor(source: SourceConfig): string[] {
  switch (source.type) {
    case 'files':
      return sealed(source)
        ? ['the offline age identity file (AGE-SECRET-KEY-1…) of one of the recipients; optionally the `age` CLI']
        : [];
    case 'sqlite':
      return [];
    case 'postgres':
      return [
        `pg_restore of the server's major version${source.bin_dir ? ` (configured: ${source.bin_dir})` : ''}, and a running PostgreSQL server`,
      ];
    case 'mysql':
      return ['the mariadb (or mysql) client, and a running MariaDB/MySQL server'];
    case 'redis':
      return ['redis-server (to load the RDB, and for `verify`/`drill` to count keys)'];
    case 'victoriametrics':
      return [
        `victoria-metrics${source.binary ? ` (configured: ${source.binary})` : ''} to serve the restored data and for checks`,
      ];
    case 'prometheus':
      return [
        `prometheus${source.binary ? ` (configured: ${source.binary})` : ''} to serve the restored data and for checks`,
      ];
    case 'command':
      return ["the program that reads the backup stream (see the source's `restore:` in lifeboat.yaml)"];
    case 'docker':
      return [
        'Docker (or Podman serving the Docker Engine API) on the host that gets the volumes, and the images of their containers',
      ];
  }
}
