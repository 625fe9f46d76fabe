/** Global flags shared by every command (docs/cli.md). */
export interface GlobalOptions {
  config?: string;
  repo?: string;
  keyFile?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  progress?: boolean;
  cache?: boolean;
  retryLock?: string;
  strictPermissions?: boolean;
  memory?: string;
}
