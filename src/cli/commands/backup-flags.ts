/**
 * The flags of `backup`, shared by its path backups (backup.ts) and its
 * configured-source and job backups (backup-configured.ts).
 *
 * @module
 */

export interface BackupFlags {
  tag: string[];
  reason?: string;
  exclude: string[];
  host?: string;
  force?: boolean;
  source: string[];
  job?: string;
}
