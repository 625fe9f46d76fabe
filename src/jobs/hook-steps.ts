/**
 * A hook phase of a source or of a job as a step of the run record
 * (`hook:before`, `hook:after`, `hook:on_error`, `hook:finally`), with what
 * its commands printed: a failed hook fails the run like any failed step.
 *
 * @module
 */

import type { HookPhaseResult } from '../sources/hooks/with-hooks.js';
import type { JobStepResult } from './steps/context.js';

export function hookStep(result: HookPhaseResult, where: Pick<JobStepResult, 'source' | 'repository'>): JobStepResult {
  return {
    step: `hook:${result.phase}`,
    ...where,
    startedAt: result.startedAt,
    durationMs: result.durationMs,
    outcome: result.ok ? 'ok' : 'failed',
    ...(result.error ? { error: result.error } : {}),
    output: result.output,
  };
}
