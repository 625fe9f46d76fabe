/**
 * The stable error catalogue. Every error Lifeboat raises carries one of these
 * codes; the CLI maps them to process exit codes in one place (`exitCodeFor`).
 */
export const ErrorCode = {
  Failure: 'failure',
  Usage: 'usage',
  Config: 'config',
  RepositoryNotFound: 'repository_not_found',
  RepositoryExists: 'repository_exists',
  Locked: 'locked',
  LockLost: 'lock_lost',
  WrongPassword: 'wrong_password',
  NoPassword: 'no_password',
  Corrupt: 'corrupt',
  NotFound: 'not_found',
  UnsupportedVersion: 'unsupported_version',
  UnsafePath: 'unsafe_path',
  Storage: 'storage',
  Interrupted: 'interrupted',
  PartialBackup: 'partial_backup',
  Refused: 'refused',
  /** A source (database, command, snapshot API) failed to deliver its data. */
  SourceFailed: 'source_failed',
  /** A hook command (before, after, on_error, finally) failed or ran past its timeout. */
  HookFailed: 'hook_failed',
  /** Every input of a backup was missing or unreadable: no snapshot was saved. */
  NothingBackedUp: 'nothing_backed_up',
  /** A removable-media repository whose drive is not mounted. */
  NotConnected: 'not_connected',
  /** A WAL file of that name is already archived with different content: it is never overwritten. */
  WalConflict: 'wal_conflict',
  /** The WAL archive cannot reach the requested recovery target (a missing segment, a target before the base backup). */
  WalGap: 'wal_gap',
  /** A repository server refused a delete or an overwrite: the token may only add objects. */
  AppendOnly: 'append_only',
  /** A repository server refused a write: the token's storage quota is used up. */
  QuotaExceeded: 'quota_exceeded',
  /** The key that opened the repository has a role (e.g. `append`) that may not do this; an admin key may. */
  RoleRefused: 'role_refused',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The exit codes of docs/cli.md. */
export const ExitCode = {
  Success: 0,
  Failure: 1,
  Usage: 2,
  Partial: 3,
  NoRepository: 10,
  Locked: 11,
  WrongKey: 12,
  Interrupted: 130,
} as const;

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.Usage:
    case ErrorCode.Config:
      return ExitCode.Usage;
    case ErrorCode.RepositoryNotFound:
      return ExitCode.NoRepository;
    case ErrorCode.Locked:
      return ExitCode.Locked;
    case ErrorCode.WrongPassword:
    case ErrorCode.NoPassword:
      return ExitCode.WrongKey;
    case ErrorCode.PartialBackup:
      return ExitCode.Partial;
    case ErrorCode.Interrupted:
      return ExitCode.Interrupted;
    default:
      return ExitCode.Failure;
  }
}
