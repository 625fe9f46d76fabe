import { afterEach, describe, expect, it } from 'vitest';
import { LifeboatError } from '../errors/index.js';
import { memoryLimits, memoryProfile, parseMemoryProfile, setMemoryProfile } from '../util/memory-profile.js';
import { applyMemoryProfile } from './context.js';

afterEach(() => setMemoryProfile('default'));

describe('memory profile', () => {
  it('accepts default and low, in any case and with spaces around', () => {
    expect(parseMemoryProfile('low', '--memory')).toBe('low');
    expect(parseMemoryProfile(' Default ', 'LIFEBOAT_MEMORY')).toBe('default');
  });

  it('refuses anything else as a usage error naming where it came from, with the accepted values', () => {
    for (const bad of ['', 'tiny', '512M', 'lowest']) {
      let err: unknown;
      try {
        parseMemoryProfile(bad, 'LIFEBOAT_MEMORY');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LifeboatError);
      expect((err as LifeboatError).code).toBe('usage');
      expect((err as LifeboatError).message).toContain('LIFEBOAT_MEMORY');
      expect((err as LifeboatError).hint).toContain('default, low');
    }
  });

  it('low gives one worker thread and smaller windows than default', () => {
    const d = memoryLimits('default');
    const l = memoryLimits('low');
    expect(l.workerThreads).toBe(1);
    expect(d.workerThreads).toBeGreaterThan(1);
    expect(l.inFlightBytes).toBeLessThan(d.inFlightBytes);
    expect(l.entriesInFlight).toBeLessThan(d.entriesInFlight);
    expect(l.packUploads).toBeLessThan(d.packUploads);
  });

  it('the flag wins over the variable; an empty variable is the default; a bad one is refused', () => {
    applyMemoryProfile({ memory: 'low' }, { LIFEBOAT_MEMORY: 'default' });
    expect(memoryProfile()).toBe('low');
    setMemoryProfile('default');
    applyMemoryProfile({}, { LIFEBOAT_MEMORY: 'low' });
    expect(memoryProfile()).toBe('low');
    setMemoryProfile('default');
    applyMemoryProfile({}, { LIFEBOAT_MEMORY: '' });
    expect(memoryProfile()).toBe('default');
    expect(() => applyMemoryProfile({ memory: 'huge' }, {})).toThrow(/--memory: unknown memory profile "huge"/);
    expect(() => applyMemoryProfile({}, { LIFEBOAT_MEMORY: 'huge' })).toThrow(/LIFEBOAT_MEMORY/);
    expect(memoryProfile()).toBe('default');
  });
});
