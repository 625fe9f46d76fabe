/**
 * The zod schema of a duration in lifeboat.yaml (`30s`, `15m`, `1d12h`; see duration.ts),
 * shared by every part of the config schema.
 *
 * @module
 */

import { z } from 'zod';

export const durationSchema = z
  .string()
  .regex(/^(\d+[smhdwy])+$/, 'a duration: a number and a unit, e.g. 30s, 15m, 36h, 7d, 12w, 1y')
  .describe('a duration such as 30s, 15m, 36h, 7d, 12w or 1y');
