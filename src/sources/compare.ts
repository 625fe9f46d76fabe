import { isDeepStrictEqual } from 'node:util';
import type { SourceRecord } from './contract.js';

export interface RecordCheck {
  field: string;
  ok: boolean;
  expected: unknown;
  actual: unknown;
}

/** Compare the verified fields of a recorded and a measured record. */
export function compareRecords(
  recorded: SourceRecord,
  measured: SourceRecord,
  fields: readonly string[],
): RecordCheck[] {
  return fields
    .filter((f) => recorded[f] !== undefined)
    .map((field) => ({
      field,
      ok: isDeepStrictEqual(recorded[field], measured[field]),
      expected: recorded[field],
      actual: measured[field],
    }));
}
