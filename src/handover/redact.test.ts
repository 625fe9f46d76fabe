import { describe, expect, it } from 'vitest';
import { envRedactor, referencedVariables } from './redact.js';

describe('redaction of ${ENV} values', () => {
  it('finds the variables a config references, not escaped $${X} literals', () => {
    expect(referencedVariables('url: ${REPO_URL}\npw: $${LITERAL}\nx: ${REPO_URL} ${B_2}')).toEqual([
      'REPO_URL',
      'B_2',
    ]);
  });

  it('writes every value of a referenced variable back as ${NAME}, longest first, short values untouched', () => {
    const redact = envRedactor(['TOKEN', 'LONGER', 'SHORT', 'UNSET'], {
      TOKEN: 'tok-123456',
      LONGER: 'tok-123456-and-more',
      SHORT: 'app',
    });
    expect(redact('a tok-123456-and-more b tok-123456 c app')).toBe('a ${LONGER} b ${TOKEN} c app');
    expect(envRedactor([], {})('unchanged')).toBe('unchanged');
  });
});
