import path from 'node:path';
import { shellQuote } from '../../../util/shell-quote.js';

/**
 * The restore_command of a restored server: this very program (`lifeboat …
 * wal-fetch --source NAME %f %p`) with the given config and repository.
 * Credentials are not on it: wal-fetch reads them as every command does (the
 * repository's password_file/key_file in the config, or the environment).
 */
export function walFetchCommand(o: { config?: string; repository: string; keyFile?: string; source: string }): string {
  const parts = [process.execPath, path.resolve(process.argv[1]!)];
  if (o.config) parts.push('--config', path.resolve(o.config));
  parts.push('--repo', o.repository);
  if (o.keyFile) parts.push('--key-file', path.resolve(o.keyFile));
  parts.push('--quiet', 'wal-fetch', '--source', o.source);
  return `${parts.map(shellQuote).join(' ')} %f %p`;
}
