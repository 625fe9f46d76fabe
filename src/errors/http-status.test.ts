import { describe, expect, it } from 'vitest';
import { ErrorCode } from './codes.js';
import { httpStatusFor } from './http-status.js';

describe('httpStatusFor', () => {
  it('answers what the client can act on with a 4xx and the rest with a 500', () => {
    expect(httpStatusFor(ErrorCode.NotFound)).toBe(404);
    expect(httpStatusFor(ErrorCode.Usage)).toBe(400);
    expect(httpStatusFor(ErrorCode.Corrupt)).toBe(500);
    expect(httpStatusFor(ErrorCode.Storage)).toBe(500);
  });
});
