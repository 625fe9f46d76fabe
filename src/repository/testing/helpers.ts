/**
 * Test-only helpers for the repository unit tests. Imports vitest: never import
 * this from production code.
 *
 * @module
 */

import { createCipheriv, createHash } from 'node:crypto';
import { expect } from 'vitest';
import { LifeboatError } from '../../errors/index.js';

/** Runs `fn` and returns what it threw (or undefined). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

/** Awaits `p` and returns its rejection reason (or undefined). */
export async function rejection(p: Promise<unknown> | (() => Promise<unknown>)): Promise<unknown> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return err;
  }
  return undefined;
}

/** Asserts `fn` throws a LifeboatError of `code` and returns it. */
export function expectThrowsCode(fn: () => unknown, code: string): LifeboatError {
  const err = thrown(fn);
  expect(err, `expected a LifeboatError with code ${code}`).toBeInstanceOf(LifeboatError);
  expect((err as LifeboatError).code).toBe(code);
  return err as LifeboatError;
}

/** Asserts `p` rejects with a LifeboatError of `code` and returns it. */
export async function expectRejectsCode(
  p: Promise<unknown> | (() => Promise<unknown>),
  code: string,
): Promise<LifeboatError> {
  const err = await rejection(p);
  expect(err, `expected a rejection with LifeboatError code ${code}`).toBeInstanceOf(LifeboatError);
  expect((err as LifeboatError).code).toBe(code);
  return err as LifeboatError;
}

/**
 * For fuzzing: `fn` may return or throw, but what it throws must be a
 * LifeboatError whose code is one of `codes`. Anything else is rethrown so
 * fast-check reports (and shrinks) the input.
 */
export function onlyLifeboatErrors<T>(fn: () => T, codes: readonly string[]): T | LifeboatError {
  try {
    return fn();
  } catch (err) {
    if (err instanceof LifeboatError && codes.includes(err.code)) return err;
    throw new Error(
      `expected only LifeboatError(${codes.join('|')}), got ${String(err instanceof Error ? `${err.name}: ${err.message}` : err)}`,
      { cause: err },
    );
  }
}

/**
 * Deterministic pseudo-random bytes from a seed (AES-128-CTR keystream), so
 * fast-check can shrink and replay large random inputs cheaply.
 */
export function pseudoRandomBytes(seed: number | string, length: number): Buffer {
  const key = createHash('sha256').update(String(seed)).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(length));
}

/** A buffer with one bit flipped. */
export function flipBit(buf: Uint8Array, bit: number): Buffer {
  const out = Buffer.from(buf);
  out[bit >>> 3] = out[bit >>> 3]! ^ (1 << (bit & 7));
  return out;
}
