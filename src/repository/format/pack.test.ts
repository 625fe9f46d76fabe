import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../errors/index.js';
import { BlobType } from './blob-types.js';
import { seal } from '../crypto/index.js';
import { decodePackHeader, encodePackHeader, PackBuilder, type PackEntry } from './pack.js';
import { expectThrowsCode, flipBit, onlyLifeboatErrors, pseudoRandomBytes } from '../testing/helpers.js';

const key = pseudoRandomBytes('pack key', 32);
const FUZZ_CODES = [ErrorCode.Corrupt, ErrorCode.UnsupportedVersion];

const blobArb = fc.record({
  id: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((a) => Buffer.from(a)),
  sealed: fc.uint8Array({ minLength: 0, maxLength: 300 }).map((a) => Buffer.from(a)),
  rawLength: fc.nat({ max: 0xffffffff }),
});

function build(
  type: BlobType,
  blobs: Array<{ id: Buffer; sealed: Buffer; rawLength: number }>,
): { pack: Buffer; builder: PackBuilder } {
  const builder = new PackBuilder(type);
  for (const b of blobs) builder.add(b.id, b.sealed, b.rawLength);
  return { pack: builder.finish(key), builder };
}

/** A pack whose header plaintext is exactly `plain` (to exercise the parser behind the authentication). */
function packWithHeader(
  blobArea: Buffer,
  plain: Buffer,
  kind: 'pack-header' | 'index' = 'pack-header',
  k: Buffer = key,
): Buffer {
  const sealed = seal(k, kind, plain);
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32LE(sealed.length);
  return Buffer.concat([blobArea, sealed, trailer]);
}

/** Header plaintext as pack.ts documents it. */
function headerPlain(
  entries: Array<{ type: number; id?: Buffer; offset: number; length: number; rawLength: number }>,
  opts: { magic?: string; version?: number; count?: number } = {},
): Buffer {
  const parts: Buffer[] = [Buffer.from(opts.magic ?? 'LBPK', 'latin1'), Buffer.from([opts.version ?? 1])];
  const count = Buffer.alloc(4);
  count.writeUInt32LE(opts.count ?? entries.length);
  parts.push(count);
  for (const e of entries) {
    const fixed = Buffer.alloc(12);
    fixed.writeUInt32LE(e.offset, 0);
    fixed.writeUInt32LE(e.length, 4);
    fixed.writeUInt32LE(e.rawLength, 8);
    parts.push(Buffer.from([e.type]), e.id ?? Buffer.alloc(32, 0xab), fixed);
  }
  return Buffer.concat(parts);
}

describe('PackBuilder and pack headers', () => {
  it('builds the same pack from whole blobs and from pieces, in a handed-in buffer that grows when too small', () => {
    const blobs = [1, 5000, 70_000, 3].map((n, i) => ({
      id: pseudoRandomBytes(`id${i}`, 32),
      sealed: pseudoRandomBytes(`b${i}`, n),
      rawLength: n * 2,
    }));
    const whole = build(BlobType.Data, blobs).pack;
    const small = new PackBuilder(BlobType.Data, Buffer.alloc(100));
    for (const b of blobs)
      small.add(
        b.id,
        [b.sealed.subarray(0, b.sealed.length >> 1), b.sealed.subarray(b.sealed.length >> 1)],
        b.rawLength,
      );
    const pack = small.finish(key);
    expect(decodePackHeader(key, pack)).toEqual(decodePackHeader(key, whole));
    const headerStart = pack.length - 4 - pack.readUInt32LE(pack.length - 4);
    expect(pack.subarray(0, headerStart).equals(whole.subarray(0, headerStart))).toBe(true);
    expect(pack.buffer).toBe(small.buffer.buffer);
  });

  it('finish → decodePackHeader round-trips the entries, and each entry addresses its blob', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(BlobType.Data, BlobType.Tree),
        fc.array(blobArb, { maxLength: 30 }),
        (type, blobs) => {
          const { pack, builder } = build(type, blobs);
          expect(builder.count).toBe(blobs.length);
          expect(builder.byteLength).toBe(blobs.reduce((n, b) => n + b.sealed.length, 0));
          const entries = decodePackHeader(key, pack);
          expect(entries).toHaveLength(blobs.length);
          let offset = 0;
          entries.forEach((e, i) => {
            const b = blobs[i]!;
            expect(e.type).toBe(type);
            expect(e.id.equals(b.id)).toBe(true);
            expect(e.offset).toBe(offset);
            expect(e.length).toBe(b.sealed.length);
            expect(e.rawLength).toBe(b.rawLength);
            expect(pack.subarray(e.offset, e.offset + e.length).equals(b.sealed)).toBe(true);
            offset += e.length;
          });
          expect(entries).toEqual(builder.entries);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('an empty pack has an empty header', () => {
    const { pack } = build(BlobType.Data, []);
    expect(decodePackHeader(key, pack)).toEqual([]);
  });

  it('decoded ids are independent copies (not views into the decrypted header)', () => {
    const id = randomBytes(32);
    const { pack } = build(BlobType.Tree, [{ id, sealed: randomBytes(10), rawLength: 3 }]);
    const [a] = decodePackHeader(key, pack);
    const [b] = decodePackHeader(key, pack);
    a!.id.fill(0);
    expect(b!.id.equals(id)).toBe(true);
  });

  it('encodePackHeader alone is a valid pack trailer for an empty blob area', () => {
    const entries: PackEntry[] = [];
    expect(decodePackHeader(key, encodePackHeader(key, entries))).toEqual([]);
  });

  describe('rejects damaged packs with typed errors', () => {
    const blobs = [
      { id: randomBytes(32), sealed: randomBytes(100), rawLength: 80 },
      { id: randomBytes(32), sealed: randomBytes(50), rawLength: 20 },
    ];
    const { pack } = build(BlobType.Data, blobs);

    it('shorter than its trailer', () => {
      for (let n = 0; n < 4; n++) expectThrowsCode(() => decodePackHeader(key, pack.subarray(0, n)), ErrorCode.Corrupt);
    });

    it('header length pointing outside the pack', () => {
      for (const len of [pack.length, pack.length - 3, 0xffffffff]) {
        const bad = Buffer.from(pack);
        bad.writeUInt32LE(len, bad.length - 4);
        expectThrowsCode(() => decodePackHeader(key, bad), ErrorCode.Corrupt);
      }
    });

    it('header length of zero or off by one', () => {
      const real = pack.readUInt32LE(pack.length - 4);
      for (const len of [0, 1, real - 1, real + 1]) {
        const bad = Buffer.from(pack);
        bad.writeUInt32LE(len, bad.length - 4);
        expectThrowsCode(() => decodePackHeader(key, bad), ErrorCode.Corrupt);
      }
    });

    it('truncated anywhere', () => {
      for (let n = 0; n < pack.length; n++)
        expectThrowsCode(() => decodePackHeader(key, pack.subarray(0, n)), ErrorCode.Corrupt);
    });

    it('any flipped bit in the header or trailer', () => {
      const headerStart = pack.length - 4 - pack.readUInt32LE(pack.length - 4);
      for (let bit = headerStart * 8; bit < pack.length * 8; bit++) {
        expectThrowsCode(() => decodePackHeader(key, flipBit(pack, bit)), ErrorCode.Corrupt);
      }
    });

    it('wrong key or a header sealed as another kind', () => {
      expectThrowsCode(() => decodePackHeader(randomBytes(32), pack), ErrorCode.Corrupt);
      expectThrowsCode(
        () => decodePackHeader(key, packWithHeader(Buffer.alloc(0), headerPlain([]), 'index')),
        ErrorCode.Corrupt,
      );
    });

    it('bytes prepended to a whole pack move every entry (still decodes; entries stay in the blob area)', () => {
      // Not an error by itself — the pack name (its SHA-256) catches this — but entries must stay in bounds.
      const shifted = Buffer.concat([Buffer.alloc(7), pack]);
      for (const e of decodePackHeader(key, shifted)) expect(e.offset + e.length).toBeLessThanOrEqual(shifted.length);
    });
  });

  describe('rejects authenticated but malformed header plaintexts', () => {
    const area = Buffer.alloc(100);

    it('bad magic', () => {
      expectThrowsCode(
        () => decodePackHeader(key, packWithHeader(area, headerPlain([], { magic: 'LBIX' }))),
        ErrorCode.Corrupt,
      );
      expectThrowsCode(() => decodePackHeader(key, packWithHeader(area, Buffer.alloc(0))), ErrorCode.Corrupt);
      expectThrowsCode(() => decodePackHeader(key, packWithHeader(area, Buffer.from('LBP'))), ErrorCode.Corrupt);
    });

    it('unknown format version → unsupported_version', () => {
      for (const version of [0, 2, 255]) {
        expectThrowsCode(
          () => decodePackHeader(key, packWithHeader(area, headerPlain([], { version }))),
          ErrorCode.UnsupportedVersion,
        );
      }
    });

    it('missing version or count', () => {
      expectThrowsCode(() => decodePackHeader(key, packWithHeader(area, Buffer.from('LBPK'))), ErrorCode.Corrupt);
      expectThrowsCode(
        () => decodePackHeader(key, packWithHeader(area, Buffer.from('LBPK\x01\x00\x00', 'latin1'))),
        ErrorCode.Corrupt,
      );
    });

    it('a count larger than the entries present (including absurd counts, without allocating)', () => {
      const e = { type: BlobType.Data, offset: 0, length: 10, rawLength: 10 };
      for (const count of [2, 1000, 0x7fffffff, 0xffffffff]) {
        expectThrowsCode(
          () => decodePackHeader(key, packWithHeader(area, headerPlain([e], { count }))),
          ErrorCode.Corrupt,
        );
      }
    });

    it('trailing bytes after the entries', () => {
      const plain = Buffer.concat([
        headerPlain([{ type: BlobType.Tree, offset: 0, length: 1, rawLength: 1 }]),
        Buffer.from([0]),
      ]);
      expectThrowsCode(() => decodePackHeader(key, packWithHeader(area, plain)), ErrorCode.Corrupt);
      // …and a count smaller than the entries present.
      const two = headerPlain(
        [
          { type: 0, offset: 0, length: 1, rawLength: 1 },
          { type: 0, offset: 1, length: 1, rawLength: 1 },
        ],
        { count: 1 },
      );
      expectThrowsCode(() => decodePackHeader(key, packWithHeader(area, two)), ErrorCode.Corrupt);
    });

    it('an unknown blob type', () => {
      for (const type of [2, 7, 255]) {
        expectThrowsCode(
          () =>
            decodePackHeader(key, packWithHeader(area, headerPlain([{ type, offset: 0, length: 1, rawLength: 1 }]))),
          ErrorCode.Corrupt,
        );
      }
    });

    it('an entry reaching past the blob area (into the header)', () => {
      for (const [offset, length] of [
        [0, 101],
        [100, 1],
        [99, 2],
        [0xffffffff, 0xffffffff],
        [0xffffffff, 0],
      ] as const) {
        expectThrowsCode(
          () => decodePackHeader(key, packWithHeader(area, headerPlain([{ type: 0, offset, length, rawLength: 1 }]))),
          ErrorCode.Corrupt,
        );
      }
    });

    it('an entry ending exactly at the end of the blob area is fine', () => {
      const entries = decodePackHeader(
        key,
        packWithHeader(
          area,
          headerPlain([
            { type: 0, offset: 60, length: 40, rawLength: 9 },
            { type: 1, offset: 100, length: 0, rawLength: 0 },
          ]),
        ),
      );
      expect(entries.map((e) => [e.type, e.offset, e.length, e.rawLength])).toEqual([
        [0, 60, 40, 9],
        [1, 100, 0, 0],
      ]);
    });
  });

  describe('fuzzing: only LifeboatError, never another exception', () => {
    it('random buffers', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 500 }), (junk) => {
          const r = onlyLifeboatErrors(() => decodePackHeader(key, Buffer.from(junk)), FUZZ_CODES);
          expect(r).toBeInstanceOf(Error);
        }),
        { numRuns: 500 },
      );
    });

    it('random mutations of a valid pack', () => {
      const { pack } = build(BlobType.Data, [
        { id: randomBytes(32), sealed: randomBytes(64), rawLength: 50 },
        { id: randomBytes(32), sealed: randomBytes(33), rawLength: 1 },
        { id: randomBytes(32), sealed: randomBytes(5), rawLength: 5 },
      ]);
      const mutation = fc.oneof(
        fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 1, max: 255 }) }),
        fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
        fc.record({
          kind: fc.constant('splice' as const),
          at: fc.nat(),
          bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }),
        }),
        fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 40 }) }),
        fc.record({ kind: fc.constant('trailer' as const), value: fc.nat({ max: 0xffffffff }) }),
      );
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 5 }), (mutations) => {
          let buf = Buffer.from(pack);
          for (const m of mutations) {
            const at = 'at' in m ? m.at % (buf.length + 1) : 0;
            if (m.kind === 'flip' && buf.length > 0) buf[at % buf.length] = buf[at % buf.length]! ^ m.value;
            else if (m.kind === 'truncate') buf = buf.subarray(0, at);
            else if (m.kind === 'splice')
              buf = Buffer.concat([buf.subarray(0, at), Buffer.from(m.bytes), buf.subarray(at)]);
            else if (m.kind === 'delete') buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + m.n)]);
            else if (m.kind === 'trailer' && buf.length >= 4) {
              buf = Buffer.from(buf);
              buf.writeUInt32LE(m.value, buf.length - 4);
            }
          }
          const r = onlyLifeboatErrors(() => decodePackHeader(key, buf), FUZZ_CODES);
          if (Array.isArray(r)) {
            const headerStart = buf.length - 4 - buf.readUInt32LE(buf.length - 4);
            for (const e of r) expect(e.offset + e.length).toBeLessThanOrEqual(headerStart);
          }
        }),
        { numRuns: 500 },
      );
    });

    it('random mutations of a valid header plaintext (sealed, so the parser itself is fuzzed)', () => {
      const plain = headerPlain([
        { type: 0, offset: 0, length: 40, rawLength: 1 },
        { type: 1, offset: 40, length: 60, rawLength: 2 },
      ]);
      const area = Buffer.alloc(100);
      fc.assert(
        fc.property(
          fc.array(fc.record({ at: fc.nat(), value: fc.nat({ max: 255 }) }), { maxLength: 6 }),
          fc.nat(),
          fc.uint8Array({ maxLength: 50 }),
          (writes, cut, extra) => {
            const p = Buffer.from(plain);
            for (const w of writes) p[w.at % p.length] = w.value;
            const mutated = Buffer.concat([p.subarray(0, cut % (p.length + 1)), Buffer.from(extra)]);
            const r = onlyLifeboatErrors(() => decodePackHeader(key, packWithHeader(area, mutated)), FUZZ_CODES);
            if (Array.isArray(r)) {
              for (const e of r) {
                expect([BlobType.Data, BlobType.Tree]).toContain(e.type);
                expect(e.id.length).toBe(32);
                expect(e.offset + e.length).toBeLessThanOrEqual(area.length);
              }
            }
          },
        ),
        { numRuns: 500 },
      );
    });

    it('random authenticated plaintexts', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, withMagic) => {
          const plain = withMagic
            ? Buffer.concat([Buffer.from('LBPK\x01', 'latin1'), Buffer.from(bytes)])
            : Buffer.from(bytes);
          onlyLifeboatErrors(() => decodePackHeader(key, packWithHeader(Buffer.alloc(64), plain)), FUZZ_CODES);
        }),
        { numRuns: 500 },
      );
    });
  });
});
