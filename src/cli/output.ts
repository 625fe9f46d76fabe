/**
 * Where a command's results go. Text for people on stdout; with --json one JSON
 * document (or JSON lines for streams) on stdout; errors and progress on stderr.
 *
 * @module
 */

import { ErrorCode, LifeboatError, exitCodeFor } from '../errors/index.js';

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  progress: boolean;
}

export class Output {
  constructor(readonly options: OutputOptions) {}

  get json(): boolean {
    return this.options.json;
  }

  /** A result line for people (suppressed by --quiet and --json). */
  info(text: string): void {
    if (!this.options.json && !this.options.quiet) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** The primary result for people: printed even with --quiet. */
  result(text: string): void {
    if (!this.options.json) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  verbose(text: string): void {
    if (this.options.verbose && !this.options.json) process.stderr.write(`${text}\n`);
  }

  warn(text: string): void {
    if (!this.options.quiet || this.options.json) process.stderr.write(`warning: ${text}\n`);
  }

  /** One JSON document (or one line of a JSON-lines stream). */
  emit(value: unknown): void {
    if (this.options.json) process.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** Report an error and return the exit code it maps to. */
  error(err: unknown): number {
    const e =
      err instanceof LifeboatError
        ? err
        : new LifeboatError(ErrorCode.Failure, (err as Error)?.message ?? String(err), { cause: err });
    if (this.options.json) {
      process.stdout.write(`${JSON.stringify({ type: 'error', error: e.toJSON() })}\n`);
    } else {
      process.stderr.write(`error: ${e.message}\n`);
      if (e.hint) process.stderr.write(`hint: ${e.hint}\n`);
      if (this.options.verbose && !(err instanceof LifeboatError) && (err as Error)?.stack)
        process.stderr.write(`${(err as Error).stack}\n`);
    }
    return exitCodeFor(e.code);
  }
}
