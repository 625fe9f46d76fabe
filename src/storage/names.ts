/**
 * Validation of object names and list prefixes (see `contract.ts`). Every driver
 * calls these before touching its backend, so a bad name fails identically
 * everywhere and can never escape the repository root (`..`, absolute paths).
 *
 * @module
 */

import { ErrorCode, LifeboatError } from '../errors/index.js';

export const MAX_OBJECT_NAME_LENGTH = 1024;

/**
 * Segments starting with this are reserved for the temporary files of in-flight
 * writes (the local driver's `.tmp-<random>`). Drivers never list them, so an
 * object with such a name would be stored but invisible — reject it up front.
 */
export const TEMP_PREFIX = '.tmp-';

const SEGMENT = /^[A-Za-z0-9._-]+$/;

function invalid(what: string, value: unknown, why: string): LifeboatError {
  const shown =
    typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value) : String(value);
  return new LifeboatError(ErrorCode.Storage, `invalid ${what} ${shown}: ${why}`, {
    hint: "object names are relative '/'-separated paths of [A-Za-z0-9._-] segments",
    retryable: false,
  });
}

/** Why `name` is not a valid object name, or undefined when it is valid. */
export function objectNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'not a string';
  if (name.length === 0) return 'empty';
  if (name.length > MAX_OBJECT_NAME_LENGTH) return `longer than ${MAX_OBJECT_NAME_LENGTH} characters`;
  if (name.startsWith('/')) return "starts with '/'";
  if (name.endsWith('/')) return "ends with '/'";
  for (const segment of name.split('/')) {
    if (segment === '') return 'contains an empty segment';
    if (segment === '.' || segment === '..') return `contains a '${segment}' segment`;
    if (!SEGMENT.test(segment)) return `segment ${JSON.stringify(segment)} has characters outside [A-Za-z0-9._-]`;
    if (segment.startsWith(TEMP_PREFIX))
      return `segment ${JSON.stringify(segment)} uses the reserved prefix '${TEMP_PREFIX}'`;
  }
  return undefined;
}

export function isValidObjectName(name: unknown): name is string {
  return objectNameProblem(name) === undefined;
}

/** Throws LifeboatError(storage) unless `name` is a valid object name. */
export function assertValidObjectName(name: unknown): asserts name is string {
  const problem = objectNameProblem(name);
  if (problem !== undefined) throw invalid('object name', name, problem);
}

/** Throws LifeboatError(storage) unless `prefix` is '' or a valid name followed by '/'. */
export function assertValidPrefix(prefix: unknown): asserts prefix is string {
  if (prefix === '') return;
  if (typeof prefix !== 'string') throw invalid('prefix', prefix, 'not a string');
  if (!prefix.endsWith('/')) throw invalid('prefix', prefix, "must be empty or end with '/'");
  const problem = objectNameProblem(prefix.slice(0, -1));
  if (problem !== undefined) throw invalid('prefix', prefix, problem);
}

/** Throws LifeboatError(storage) unless offset and length are non-negative safe integers. */
export function assertValidRange(name: string, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new LifeboatError(ErrorCode.Storage, `invalid range offset=${offset} length=${length} for ${name}`, {
      retryable: false,
      context: { name, offset, length },
    });
  }
}
