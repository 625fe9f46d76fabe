import { describe, expect, it } from 'vitest';
import { LifeboatError } from '../errors/index.js';
import { MAX_OBJECT_NAME_LENGTH, assertValidObjectName, assertValidPrefix, isValidObjectName } from './names.js';

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(LifeboatError);
    return (err as LifeboatError).code;
  }
}

describe('assertValidObjectName', () => {
  it.each(['config', 'keys/0a1b', 'data/ab/ab12cd', 'index/x.y-z_1', 'a/b/c/d/e', '...', 'a/..b', '.hidden', 'A-Z_09'])(
    'accepts %j',
    (name) => {
      expect(() => assertValidObjectName(name)).not.toThrow();
      expect(isValidObjectName(name)).toBe(true);
    },
  );

  it.each([
    ['', 'empty'],
    ['/abs', "starts with '/'"],
    ['a/', "ends with '/'"],
    ['a//b', 'empty segment'],
    ['../x', "'..' segment"],
    ['a/./b', "'.' segment"],
    ['.', "'.' segment"],
    ['a b', 'characters outside'],
    ['a\\b', 'characters outside'],
    ['ä', 'characters outside'],
    ['a\0b', 'characters outside'],
    ['data/.tmp-123', 'reserved prefix'],
    ['x'.repeat(MAX_OBJECT_NAME_LENGTH + 1), 'longer than'],
  ])('rejects %j (%s) with code storage', (name, why) => {
    expect(codeOf(() => assertValidObjectName(name))).toBe('storage');
    expect(() => assertValidObjectName(name)).toThrow(why);
    expect(isValidObjectName(name)).toBe(false);
  });

  it('accepts a name of exactly the maximum length', () => {
    expect(() => assertValidObjectName('x'.repeat(MAX_OBJECT_NAME_LENGTH))).not.toThrow();
  });

  it('rejects non-strings', () => {
    expect(codeOf(() => assertValidObjectName(undefined))).toBe('storage');
    expect(codeOf(() => assertValidObjectName(42))).toBe('storage');
  });
});

describe('assertValidPrefix', () => {
  it.each(['', 'data/', 'data/ab/', 'snapshots/'])('accepts %j', (prefix) => {
    expect(() => assertValidPrefix(prefix)).not.toThrow();
  });

  it.each(['data', '/', '//', '/data/', '../', 'data//', './', 'a/../', 'a b/', '.tmp-x/'])(
    'rejects %j with code storage',
    (prefix) => {
      expect(codeOf(() => assertValidPrefix(prefix))).toBe('storage');
    },
  );
});
