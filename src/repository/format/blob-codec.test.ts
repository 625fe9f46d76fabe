import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../errors/index.js';
import { openBlob, sealCompressed, sealVerified } from './blob-codec.js';
import { BlobCompressor, Codec } from './codec.js';
import { blobId, deriveRepositoryKeys, open, seal } from '../crypto/index.js';
import { expectThrowsCode, flipBit, onlyLifeboatErrors, pseudoRandomBytes } from '../testing/helpers.js';

const keys = deriveRepositoryKeys(pseudoRandomBytes('blob-codec master', 32));
const compressor = new BlobCompressor(3);

function sealed(data: Buffer) {
  return sealVerified(keys.encryption, compressor, blobId(keys.blobId, data), data);
}

describe('sealVerified / openBlob', () => {
  it('round-trips random (stored raw) data', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 64 * 1024 }), (seed, size) => {
        const data = pseudoRandomBytes(seed, size);
        const s = sealed(data);
        expect(s.rawLength).toBe(size);
        const plain = open(keys.encryption, 'blob', s.sealed, s.id);
        expect(plain[0]).toBe(Codec.Raw);
        expect(plain.subarray(1).equals(data)).toBe(true);
        expect(openBlob(keys.encryption, keys.blobId, compressor, s.id, s.sealed, s.rawLength).equals(data)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('round-trips repetitive (compressed) data, stored smaller than it is', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 20 }), fc.integer({ min: 100, max: 2000 }), (unit, times) => {
        const data = Buffer.from(unit.repeat(times));
        fc.pre(data.length >= 200);
        const s = sealed(data);
        const plain = open(keys.encryption, 'blob', s.sealed, s.id);
        expect(plain[0]).toBe(Codec.Zstd);
        expect(s.sealed.length).toBeLessThan(data.length);
        expect(openBlob(keys.encryption, keys.blobId, compressor, s.id, s.sealed, s.rawLength).equals(data)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('a different expected id (a swapped blob) gives corrupt', () => {
    const a = Buffer.from('content of blob A '.repeat(50));
    const b = randomBytes(500);
    const sa = sealed(a);
    const sb = sealed(b);
    // B's valid envelope in A's place: the id is bound as AAD, so authentication fails.
    expectThrowsCode(
      () => openBlob(keys.encryption, keys.blobId, compressor, sa.id, sb.sealed, sb.rawLength),
      ErrorCode.Corrupt,
    );
    expectThrowsCode(
      () => openBlob(keys.encryption, keys.blobId, compressor, sb.id, sa.sealed, sa.rawLength),
      ErrorCode.Corrupt,
    );
    // …also when the content check is skipped (restore path).
    expectThrowsCode(
      () => openBlob(keys.encryption, keys.blobId, compressor, sa.id, sb.sealed, sb.rawLength, false),
      ErrorCode.Corrupt,
    );
    expectThrowsCode(
      () => openBlob(keys.encryption, keys.blobId, compressor, randomBytes(32), sa.sealed, sa.rawLength, false),
      ErrorCode.Corrupt,
    );
  });

  it('the blob id is bound into the envelope: it opens only with that id', () => {
    const data = Buffer.from('bound');
    const s = sealed(data);
    expect(open(keys.encryption, 'blob', s.sealed, s.id).equals(Buffer.concat([Buffer.from([Codec.Raw]), data]))).toBe(
      true,
    );
    expectThrowsCode(() => open(keys.encryption, 'blob', s.sealed), ErrorCode.Corrupt);
    const other = Buffer.from(s.id);
    other[31] = other[31]! ^ 1;
    expectThrowsCode(() => open(keys.encryption, 'blob', s.sealed, other), ErrorCode.Corrupt);
    expectThrowsCode(() => open(keys.encryption, 'blob', s.sealed, s.id.subarray(0, 31)), ErrorCode.Corrupt);
  });

  it('content sealed under a wrong id (a writer bug) is caught by the content check, and only skipped without it', () => {
    const data = Buffer.from('this content does not hash to the id it was sealed under');
    const wrongId = randomBytes(32);
    const env = sealCompressed(keys.encryption, wrongId, compressor.compress(data));
    const err = expectThrowsCode(
      () => openBlob(keys.encryption, keys.blobId, compressor, wrongId, env, data.length),
      ErrorCode.Corrupt,
    );
    expect(err.context.actual).toBe(blobId(keys.blobId, data).toString('hex'));
    expect(err.context.expected).toBe(wrongId.toString('hex'));
    expect(openBlob(keys.encryption, keys.blobId, compressor, wrongId, env, data.length, false).equals(data)).toBe(
      true,
    );
  });

  it('sealCompressed + openBlob round-trips both codecs, with and without the content check', () => {
    for (const data of [randomBytes(1000), Buffer.alloc(10_000, 7), Buffer.alloc(0)]) {
      const id = blobId(keys.blobId, data);
      const env = sealCompressed(keys.encryption, id, compressor.compress(data));
      expect(openBlob(keys.encryption, keys.blobId, compressor, id, env, data.length).equals(data)).toBe(true);
      expect(openBlob(keys.encryption, keys.blobId, compressor, id, env, data.length, false).equals(data)).toBe(true);
    }
  });

  it('a blob id under another id key gives corrupt (ids are keyed)', () => {
    const data = Buffer.from('keyed');
    const other = deriveRepositoryKeys(pseudoRandomBytes('other master', 32));
    const s = sealVerified(keys.encryption, compressor, blobId(other.blobId, data), data);
    expectThrowsCode(
      () => openBlob(keys.encryption, keys.blobId, compressor, s.id, s.sealed, s.rawLength),
      ErrorCode.Corrupt,
    );
  });

  it('a wrong rawLength gives corrupt', () => {
    for (const data of [randomBytes(300), Buffer.alloc(5000, 1)]) {
      const s = sealed(data);
      expectThrowsCode(
        () => openBlob(keys.encryption, keys.blobId, compressor, s.id, s.sealed, s.rawLength + 1),
        ErrorCode.Corrupt,
      );
      expectThrowsCode(
        () => openBlob(keys.encryption, keys.blobId, compressor, s.id, s.sealed, s.rawLength - 1),
        ErrorCode.Corrupt,
      );
    }
  });

  it('an unknown codec byte inside a valid envelope gives corrupt', () => {
    const data = Buffer.from('payload');
    const id = blobId(keys.blobId, data);
    for (const codec of [2, 9, 255]) {
      const env = seal(keys.encryption, 'blob', Buffer.concat([Buffer.from([codec]), data]), id);
      expectThrowsCode(
        () => openBlob(keys.encryption, keys.blobId, compressor, id, env, data.length),
        ErrorCode.Corrupt,
      );
    }
  });

  it('an empty plaintext (no codec byte) gives corrupt', () => {
    const id = blobId(keys.blobId, Buffer.alloc(0));
    const env = seal(keys.encryption, 'blob', Buffer.alloc(0), id);
    expectThrowsCode(() => openBlob(keys.encryption, keys.blobId, compressor, id, env, 0), ErrorCode.Corrupt);
    expectThrowsCode(() => openBlob(keys.encryption, keys.blobId, compressor, id, env, 0, false), ErrorCode.Corrupt);
  });

  it('an envelope of another kind gives corrupt', () => {
    const data = Buffer.from('tree?');
    const id = blobId(keys.blobId, data);
    const env = seal(keys.encryption, 'index', Buffer.concat([Buffer.from([Codec.Raw]), data]), id);
    expectThrowsCode(() => openBlob(keys.encryption, keys.blobId, compressor, id, env, data.length), ErrorCode.Corrupt);
  });

  it('any flipped bit in a sealed blob gives corrupt', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(), (bytes, bitSeed) => {
        const data = Buffer.from(bytes);
        const s = sealed(data);
        const bit = bitSeed % (s.sealed.length * 8);
        expectThrowsCode(
          () => openBlob(keys.encryption, keys.blobId, compressor, s.id, flipBit(s.sealed, bit), s.rawLength),
          ErrorCode.Corrupt,
        );
        expectThrowsCode(
          () => openBlob(keys.encryption, keys.blobId, compressor, s.id, flipBit(s.sealed, bit), s.rawLength, false),
          ErrorCode.Corrupt,
        );
      }),
      { numRuns: 200 },
    );
  });

  it('random garbage only throws corrupt', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat({ max: 1000 }), (junk, rawLength) => {
        const r = onlyLifeboatErrors(
          () => openBlob(keys.encryption, keys.blobId, compressor, randomBytes(32), Buffer.from(junk), rawLength),
          [ErrorCode.Corrupt],
        );
        expect(r).toBeInstanceOf(Error);
      }),
      { numRuns: 200 },
    );
  });
});
