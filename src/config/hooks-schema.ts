/**
 * The `hooks:` key of a source and of a job (docs/configuration.md, "Hooks"):
 * commands run before and after a backup — stopping a service, flushing a
 * cache, a maintenance page. Each command is a string run by `/bin/sh -c` or an
 * argv array run as it is; the semantics are in ADR 0035.
 *
 * @module
 */

import { z } from 'zod';
import { durationSchema } from './duration-schema.js';

export const hookCommandSchema = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .describe('a command: a string run by /bin/sh -c, or an argv array run without a shell');

const phase = (what: string) => z.array(hookCommandSchema).min(1).optional().describe(what);

export const hooksSchema = z
  .strictObject({
    before: phase('run in order before the backup; the first that fails stops the run, no snapshot is made'),
    after: phase('run in order after a successful backup (LIFEBOAT_SNAPSHOT is set)'),
    on_error: phase('run in order when the backup or a `before` command failed or was interrupted'),
    finally: phase('run in order last, whatever happened, once the hooks began (also on interruption)'),
    timeout: durationSchema
      .optional()
      .describe('how long each command may run before its process group is stopped (default 5m)'),
  })
  .describe('commands run around the backup; see docs/configuration.md "Hooks"');

export type HooksConfig = z.infer<typeof hooksSchema>;
export type HookCommand = z.infer<typeof hookCommandSchema>;
