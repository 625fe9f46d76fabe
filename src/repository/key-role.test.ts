import { describe, expect, it } from 'vitest';
import { ErrorCode, exitCodeFor, isLifeboatError } from '../errors/index.js';
import { requireAdmin } from './key-role.js';

describe('requireAdmin', () => {
  it('lets an admin key through', () => {
    expect(() => requireAdmin({ role: 'admin' }, 'prune')).not.toThrow();
  });

  it('refuses an append key with role_refused (exit 1), naming the operation and the admin key in the hint', () => {
    let caught: unknown;
    try {
      requireAdmin({ role: 'append' }, 'forget');
    } catch (err) {
      caught = err;
    }
    expect(isLifeboatError(caught, ErrorCode.RoleRefused)).toBe(true);
    const err = caught as { message: string; hint?: string };
    expect(err.message).toContain('forget is refused');
    expect(err.message).toContain('append key');
    expect(err.hint).toContain('admin key');
    expect(exitCodeFor(ErrorCode.RoleRefused)).toBe(1);
  });
});
