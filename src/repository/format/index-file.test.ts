import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../errors/index.js';
import { BlobType } from './blob-types.js';
import { decodeIndexFile, encodeIndexFile, type IndexFile } from './index-file.js';
import { expectThrowsCode, onlyLifeboatErrors } from '../testing/helpers.js';

const FUZZ_CODES = [ErrorCode.Corrupt, ErrorCode.UnsupportedVersion];
const hexId = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((a) => Buffer.from(a).toString('hex'));
const u32 = fc.nat({ max: 0xffffffff });

const blobArb = fc.record({
  type: fc.constantFrom(BlobType.Data, BlobType.Tree),
  id: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((a) => Buffer.from(a)),
  offset: u32,
  length: u32,
  rawLength: u32,
});
const packArb = fc.record({ id: hexId, size: fc.maxSafeNat(), blobs: fc.array(blobArb, { maxLength: 8 }) });
const indexArb: fc.Arbitrary<IndexFile> = fc.record({
  supersedes: fc.array(hexId, { maxLength: 4 }),
  packs: fc.array(packArb, { maxLength: 6 }),
});

const sample: IndexFile = {
  supersedes: ['aa'.repeat(32)],
  packs: [
    {
      id: 'bb'.repeat(32),
      size: 2 ** 40 + 3,
      blobs: [
        { type: BlobType.Data, id: Buffer.alloc(32, 1), offset: 0, length: 100, rawLength: 90 },
        { type: BlobType.Tree, id: Buffer.alloc(32, 2), offset: 100, length: 50, rawLength: 0xffffffff },
      ],
    },
    { id: 'cc'.repeat(32), size: 0, blobs: [] },
  ],
};

describe('index files', () => {
  it('encode → decode round-trips any index', () => {
    fc.assert(
      fc.property(indexArb, (index) => {
        const decoded = decodeIndexFile(encodeIndexFile(index));
        expect(decoded).toEqual(index);
        // Decoding re-encodes to the same bytes.
        expect(encodeIndexFile(decoded).equals(encodeIndexFile(index))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('follows the documented layout', () => {
    const enc = encodeIndexFile({ supersedes: [], packs: [] });
    expect(enc.toString('latin1', 0, 4)).toBe('LBIX');
    expect(enc[4]).toBe(1);
    expect(enc.length).toBe(4 + 1 + 4 + 4);
    // pack = id 32 + size 8 + count 4; blob = 1 + 32 + 12.
    expect(encodeIndexFile(sample).length).toBe(13 + 32 + 2 * 44 + 2 * 45);
  });

  it('decoded blob ids are copies, not views of the input', () => {
    const enc = encodeIndexFile(sample);
    const decoded = decodeIndexFile(enc);
    enc.fill(0);
    expect(decoded.packs[0]!.blobs[0]!.id.equals(Buffer.alloc(32, 1))).toBe(true);
  });

  it('any strict prefix of a valid index is corrupt', () => {
    fc.assert(
      fc.property(indexArb, fc.nat(), (index, cut) => {
        const enc = encodeIndexFile(index);
        expectThrowsCode(() => decodeIndexFile(enc.subarray(0, cut % enc.length)), ErrorCode.Corrupt);
      }),
      { numRuns: 200 },
    );
    const enc = encodeIndexFile(sample);
    for (let n = 0; n < enc.length; n++) expectThrowsCode(() => decodeIndexFile(enc.subarray(0, n)), ErrorCode.Corrupt);
  });

  it('trailing bytes are corrupt', () => {
    expectThrowsCode(
      () => decodeIndexFile(Buffer.concat([encodeIndexFile(sample), Buffer.from([0])])),
      ErrorCode.Corrupt,
    );
  });

  it('bad magic is corrupt, unknown version is unsupported_version', () => {
    const enc = encodeIndexFile(sample);
    const badMagic = Buffer.from(enc);
    badMagic.write('LBPK', 0, 'latin1');
    expectThrowsCode(() => decodeIndexFile(badMagic), ErrorCode.Corrupt);
    for (const v of [0, 2, 255]) {
      const bad = Buffer.from(enc);
      bad[4] = v;
      expectThrowsCode(() => decodeIndexFile(bad), ErrorCode.UnsupportedVersion);
    }
  });

  it('an unknown blob type is corrupt', () => {
    const enc = encodeIndexFile(sample);
    const typeAt = 13 + 32 + 44; // first blob of the first pack
    expect(enc[typeAt]).toBe(BlobType.Data);
    const bad = Buffer.from(enc);
    bad[typeAt] = 2;
    expectThrowsCode(() => decodeIndexFile(bad), ErrorCode.Corrupt);
  });

  it('absurd counts are corrupt without allocating', () => {
    const head = (supersedes: number) => {
      const b = Buffer.alloc(9);
      b.write('LBIX', 0, 'latin1');
      b[4] = 1;
      b.writeUInt32LE(supersedes, 5);
      return b;
    };
    expectThrowsCode(() => decodeIndexFile(head(0xffffffff)), ErrorCode.Corrupt);
    const packs = Buffer.alloc(4);
    packs.writeUInt32LE(0xffffffff);
    expectThrowsCode(() => decodeIndexFile(Buffer.concat([head(0), packs])), ErrorCode.Corrupt);
    // A blob count that does not fit.
    const enc = encodeIndexFile({ supersedes: [], packs: [{ id: 'dd'.repeat(32), size: 1, blobs: [] }] });
    enc.writeUInt32LE(0xffffffff, enc.length - 4);
    expectThrowsCode(() => decodeIndexFile(enc), ErrorCode.Corrupt);
  });

  it('a pack size above 2^53 is corrupt', () => {
    const enc = encodeIndexFile({ supersedes: [], packs: [{ id: 'dd'.repeat(32), size: 1, blobs: [] }] });
    const sizeAt = 13 + 32;
    enc.writeBigUInt64LE(2n ** 53n, sizeAt);
    expectThrowsCode(() => decodeIndexFile(enc), ErrorCode.Corrupt);
    enc.writeBigUInt64LE(2n ** 53n - 1n, sizeAt);
    expect(decodeIndexFile(enc).packs[0]!.size).toBe(Number.MAX_SAFE_INTEGER);
  });

  describe('fuzzing: only LifeboatError', () => {
    it('random buffers', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), (bytes, withMagic) => {
          const buf = withMagic
            ? Buffer.concat([Buffer.from('LBIX\x01', 'latin1'), Buffer.from(bytes)])
            : Buffer.from(bytes);
          onlyLifeboatErrors(() => decodeIndexFile(buf), FUZZ_CODES);
        }),
        { numRuns: 1000 },
      );
    });

    it('random mutations and truncations of valid indexes', () => {
      fc.assert(
        fc.property(
          indexArb,
          fc.array(fc.record({ at: fc.nat(), value: fc.nat({ max: 255 }) }), { minLength: 1, maxLength: 8 }),
          fc.option(fc.nat()),
          (index, writes, cut) => {
            let buf = Buffer.from(encodeIndexFile(index));
            for (const w of writes) buf[w.at % buf.length] = w.value;
            if (cut !== null) buf = buf.subarray(0, cut % (buf.length + 1));
            const r = onlyLifeboatErrors(() => decodeIndexFile(buf), FUZZ_CODES);
            if (!(r instanceof Error)) {
              for (const p of r.packs) {
                expect(p.id).toMatch(/^[0-9a-f]{64}$/);
                expect(Number.isSafeInteger(p.size)).toBe(true);
                for (const b of p.blobs) expect([BlobType.Data, BlobType.Tree]).toContain(b.type);
              }
            }
          },
        ),
        { numRuns: 500 },
      );
    });
  });
});
