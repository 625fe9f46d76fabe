import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open as openFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../errors/index.js';
import {
  Chunker,
  DEFAULT_CHUNKER,
  cutReference,
  gearTable,
  validateChunkerParams,
  type ChunkerParams,
} from './chunker.js';
import { fileByteSource, readChunks, streamByteSource, type ByteSource } from './chunk-reader.js';
import { expectThrowsCode, pseudoRandomBytes } from '../testing/helpers.js';

const SMALL: ChunkerParams = { min: 256, avg: 1024, max: 4096 };
const MEDIUM: ChunkerParams = { min: 2048, avg: 8192, max: 65536 };

function chunkerFor(seed: number | string, params: ChunkerParams = SMALL): Chunker {
  return new Chunker(params, gearTable(pseudoRandomBytes(`key:${seed}`, 32)));
}

/** Reference: cut a whole in-memory buffer, offering everything that is left each time. */
function cutAll(chunker: Chunker, buf: Uint8Array): number[] {
  const lengths: number[] = [];
  let start = 0;
  while (start < buf.length) {
    const len = chunker.cut(buf, start, buf.length, true);
    expect(len).toBeGreaterThan(0);
    lengths.push(len);
    start += len;
  }
  return lengths;
}

async function collect(chunker: Chunker, source: ByteSource): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of readChunks(chunker, source)) out.push(c);
  return out;
}

/** Splits `data` into pieces whose sizes cycle through `sizes`. */
async function* pieces(data: Buffer, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let pos = 0;
  let i = 0;
  while (pos < data.length) {
    const n = sizes[i++ % sizes.length]!;
    // A fresh copy each time, as a real stream would hand out.
    yield Uint8Array.from(data.subarray(pos, pos + n));
    pos += n;
  }
}

const lengthsOf = (chunks: Buffer[]) => chunks.map((c) => c.length);

function checkSizes(lengths: number[], p: ChunkerParams, total: number): void {
  expect(lengths.reduce((a, b) => a + b, 0)).toBe(total);
  lengths.forEach((len, i) => {
    expect(len).toBeLessThanOrEqual(p.max);
    if (i < lengths.length - 1) expect(len).toBeGreaterThanOrEqual(p.min);
    else expect(len).toBeGreaterThan(0);
  });
}

describe('validateChunkerParams', () => {
  it('accepts sensible parameters', () => {
    for (const p of [
      DEFAULT_CHUNKER,
      SMALL,
      MEDIUM,
      { min: 64, avg: 1024, max: 1025 },
      { min: 1023, avg: 1024, max: 2048 },
      { min: 1024, avg: 64 * 1024 * 1024, max: 128 * 1024 * 1024 },
    ]) {
      expect(() => validateChunkerParams(p), JSON.stringify(p)).not.toThrow();
      expect(() => new Chunker(p, new Int32Array(256))).not.toThrow();
    }
  });

  it.each([
    ['avg not a power of two', { min: 256, avg: 3000, max: 8192 }],
    ['avg below 1 KiB', { min: 64, avg: 512, max: 4096 }],
    ['avg above 64 MiB', { min: 1024, avg: 128 * 1024 * 1024, max: 256 * 1024 * 1024 }],
    ['avg zero', { min: 64, avg: 0, max: 4096 }],
    ['avg negative', { min: 64, avg: -1024, max: 4096 }],
    ['avg fractional', { min: 64, avg: 1024.5, max: 4096 }],
    ['avg NaN', { min: 64, avg: Number.NaN, max: 4096 }],
    ['min below 64', { min: 63, avg: 1024, max: 4096 }],
    ['min zero', { min: 0, avg: 1024, max: 4096 }],
    ['min equal to avg', { min: 1024, avg: 1024, max: 4096 }],
    ['min above avg', { min: 2048, avg: 1024, max: 4096 }],
    ['min fractional', { min: 100.5, avg: 1024, max: 4096 }],
    ['min NaN', { min: Number.NaN, avg: 1024, max: 4096 }],
    ['max equal to avg', { min: 256, avg: 1024, max: 1024 }],
    ['max below avg', { min: 256, avg: 1024, max: 512 }],
    ['max fractional', { min: 256, avg: 1024, max: 4096.5 }],
    ['max NaN', { min: 256, avg: 1024, max: Number.NaN }],
    ['max infinite', { min: 256, avg: 1024, max: Number.POSITIVE_INFINITY }],
  ])('rejects %s with code usage', (_name, p) => {
    expectThrowsCode(() => validateChunkerParams(p), ErrorCode.Usage);
    expectThrowsCode(() => new Chunker(p, new Int32Array(256)), ErrorCode.Usage);
  });
});

describe('gearTable', () => {
  it('is a deterministic function of the key', () => {
    const key = pseudoRandomBytes('gear', 32);
    const a = gearTable(key);
    const b = gearTable(Buffer.from(key));
    expect(a).toHaveLength(256);
    expect(Array.from(a)).toEqual(Array.from(b));
    // Not degenerate: (almost) all words distinct.
    expect(new Set(a).size).toBeGreaterThan(250);
  });

  it('differs for different keys', () => {
    const a = gearTable(pseudoRandomBytes('gear-a', 32));
    const b = gearTable(pseudoRandomBytes('gear-b', 32));
    let same = 0;
    for (let i = 0; i < 256; i++) if (a[i] === b[i]) same++;
    expect(same).toBeLessThan(4);
  });
});

describe('Chunker.cut', () => {
  const chunker = chunkerFor('cut');

  it('returns all remaining bytes at the end of input when at most min are left', () => {
    const buf = pseudoRandomBytes('small', 1000);
    expect(chunker.cut(buf, 0, 1, true)).toBe(1);
    expect(chunker.cut(buf, 0, SMALL.min, true)).toBe(SMALL.min);
    expect(chunker.cut(buf, 100, 100 + SMALL.min, true)).toBe(SMALL.min);
  });

  it('asks for more (-1) when at most min bytes are offered and the input has not ended', () => {
    const buf = pseudoRandomBytes('small', 1000);
    expect(chunker.cut(buf, 0, 1, false)).toBe(-1);
    expect(chunker.cut(buf, 0, SMALL.min, false)).toBe(-1);
  });

  it('never cuts longer than max, even on data without any boundary', () => {
    // Constant data: the gear hash becomes constant after 32 bytes; whatever it is,
    // every chunk must stay within [min, max].
    const buf = Buffer.alloc(SMALL.max * 5 + 17, 0x41);
    checkSizes(cutAll(chunker, buf), SMALL, buf.length);
    const len = chunker.cut(buf, 0, buf.length, false);
    expect(len).toBeGreaterThanOrEqual(SMALL.min);
    expect(len).toBeLessThanOrEqual(SMALL.max);
  });

  it('offered less than max without the end: either -1 or exactly the cut it makes with all the data', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 1, max: SMALL.max + 100 }),
        fc.integer({ min: 0, max: 300 }),
        (seed, offered, start) => {
          const buf = pseudoRandomBytes(seed, start + SMALL.max * 3);
          const full = chunker.cut(buf, start, buf.length, true);
          const partial = chunker.cut(buf, start, start + offered, false);
          if (partial !== -1) expect(partial).toBe(full);
          // Once max bytes are available the answer is always final.
          if (offered >= SMALL.max) expect(partial).toBe(full);
          // With fewer than a full chunk's bytes offered, a cut can only be inside them.
          if (partial !== -1) expect(partial).toBeLessThanOrEqual(offered);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('does not depend on bytes outside [start, end)', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 5000 }), (seed, prefix) => {
        const body = pseudoRandomBytes(seed, SMALL.max * 2);
        const withPrefix = Buffer.concat([
          pseudoRandomBytes(`p${seed}`, prefix),
          body,
          pseudoRandomBytes(`s${seed}`, 100),
        ]);
        expect(chunker.cut(withPrefix, prefix, prefix + body.length, true)).toBe(
          chunker.cut(body, 0, body.length, true),
        );
      }),
      { numRuns: 100 },
    );
  });
});

describe('the WebAssembly scan matches the JavaScript reference exactly', () => {
  /** Data with many, few or no cut points: random, low-entropy (bytes from a small alphabet), runs. */
  function data(kind: number, seed: number, length: number): Buffer {
    const r = pseudoRandomBytes(`wasm:${seed}`, length);
    if (kind === 1) for (let i = 0; i < r.length; i++) r[i] = r[i]! & 3;
    if (kind === 2) for (let i = 0; i < r.length; i++) r[i] = (i >> 9) & 0xff;
    return r;
  }
  const PARAMS: ChunkerParams[] = [
    SMALL,
    MEDIUM,
    { min: 64, avg: 1024, max: 1025 },
    { min: 100, avg: 4096, max: 5000 },
    DEFAULT_CHUNKER,
  ];

  it('same result for every (params, data, start, end, final), from a plain buffer and from a window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: PARAMS.length - 1 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer(),
        fc.integer({ min: 0, max: 999 }),
        fc.double({ min: 0, max: 1.3, noNaN: true }),
        fc.boolean(),
        (p, kind, seed, start, fraction, final) => {
          const params = PARAMS[p]!;
          const gear = gearTable(pseudoRandomBytes(`gear:${seed}`, 32));
          const chunker = new Chunker(params, gear);
          const length = start + Math.round(params.max * fraction) + 1;
          const buf = data(kind, seed, length + 50);
          const end = Math.min(length, buf.length);
          const expected = cutReference(params, gear, buf, start, end, final);
          expect(chunker.cut(buf, start, end, final)).toBe(expected);
          const win = chunker.window(buf.length + 7);
          buf.copy(win, 7);
          expect(chunker.cut(win, start + 7, end + 7, final)).toBe(expected);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('the same boundaries over 8 MiB of each kind of data with the default parameters', () => {
    const gear = gearTable(pseudoRandomBytes('gear:whole', 32));
    const chunker = new Chunker(DEFAULT_CHUNKER, gear);
    for (const kind of [0, 1, 2]) {
      const buf = data(kind, 42, 8 * 1024 * 1024);
      const win = chunker.window(buf.length);
      buf.copy(win);
      for (let start = 0; start < buf.length;) {
        const len = cutReference(DEFAULT_CHUNKER, gear, buf, start, buf.length, true);
        expect(chunker.cut(buf, start, buf.length, true)).toBe(len);
        expect(chunker.cut(win, start, buf.length, true)).toBe(len);
        start += len;
      }
    }
  });
});

describe('readChunks (content-defined chunking)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-chunker-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is deterministic: same input and key give the same boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), fc.integer({ min: 0, max: 64 * 1024 }), async (seed, size) => {
        const data = pseudoRandomBytes(seed, size);
        const a = lengthsOf(await collect(chunkerFor(seed), streamByteSource(pieces(data, [size || 1]))));
        const b = lengthsOf(await collect(chunkerFor(seed), streamByteSource(pieces(data, [size || 1]))));
        expect(a).toEqual(b);
        expect(a).toEqual(cutAll(chunkerFor(seed), data));
      }),
      { numRuns: 40 },
    );
  });

  it('yields chunks within [min, max] (the last one within (0, max]) that concatenate to the input', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), fc.integer({ min: 0, max: 100 * 1024 }), async (seed, size) => {
        const data = pseudoRandomBytes(seed, size);
        const chunks = await collect(chunkerFor(seed), streamByteSource(pieces(data, [4096])));
        checkSizes(lengthsOf(chunks), SMALL, size);
        expect(Buffer.concat(chunks).equals(data)).toBe(true);
        if (size === 0) expect(chunks).toHaveLength(0);
      }),
      { numRuns: 40 },
    );
  });

  it('yields independent buffers (not views of a reused window)', async () => {
    const data = pseudoRandomBytes('independent', 200 * 1024);
    const chunks = await collect(chunkerFor(1), streamByteSource(pieces(data, [777])));
    expect(chunks.length).toBeGreaterThan(10);
    // Collected first, compared afterwards: a reused window would have been overwritten.
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    for (const c of chunks) expect(c.buffer.byteLength).toBeLessThan(data.length);
  });

  it('boundaries do not depend on how the input is split into reads', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.integer({ min: 1, max: 48 * 1024 }),
        fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 20 }),
        async (seed, size, sizes) => {
          const data = pseudoRandomBytes(seed, size);
          const chunker = chunkerFor(seed);
          const expected = cutAll(chunker, data);
          const chunks = await collect(chunker, streamByteSource(pieces(data, sizes)));
          expect(lengthsOf(chunks)).toEqual(expected);
          expect(Buffer.concat(chunks).equals(data)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a byte source that returns short reads gives the same boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 10 }),
        async (seed, limits) => {
          const data = pseudoRandomBytes(seed, 30_000);
          let pos = 0;
          let i = 0;
          const source: ByteSource = async (into, offset, length) => {
            const n = Math.min(length, limits[i++ % limits.length]!, data.length - pos);
            data.copy(into, offset, pos, pos + n);
            pos += n;
            return n;
          };
          const chunker = chunkerFor(seed);
          expect(lengthsOf(await collect(chunker, source))).toEqual(cutAll(chunker, data));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('input larger than the read window (window compaction) gives the same boundaries as one whole buffer', async () => {
    // readChunks keeps a window of max(2 × max, 8 MiB); 20 MiB forces it to slide. The last two
    // parameter sets make the window exactly 2 × max (8 MiB) and larger than 8 MiB (12 MiB).
    const data = pseudoRandomBytes('big', 20 * 1024 * 1024 + 12345);
    const MiB = 1024 * 1024;
    for (const params of [
      SMALL,
      DEFAULT_CHUNKER,
      { min: MiB / 4, avg: MiB, max: 4 * MiB },
      { min: MiB, avg: 2 * MiB, max: 6 * MiB },
    ]) {
      const chunker = chunkerFor('big', params);
      const expected = cutAll(chunker, data);
      checkSizes(expected, params, data.length);
      const sizes = Array.from({ length: 50 }, (_, i) => 1 + ((i * 7919 * 13) % 150_000));
      const chunks = await collect(chunker, streamByteSource(pieces(data, sizes)));
      expect(lengthsOf(chunks)).toEqual(expected);
      expect(createHash('sha256').update(Buffer.concat(chunks)).digest('hex')).toBe(
        createHash('sha256').update(data).digest('hex'),
      );
    }
  });

  it('a file gives the same chunks as a stream of the same bytes (small and larger than the window)', async () => {
    for (const [name, size, params] of [
      ['small', 77_777, SMALL],
      ['empty', 0, SMALL],
      ['large', 17 * 1024 * 1024 + 3, MEDIUM],
    ] as const) {
      const data = pseudoRandomBytes(name, size);
      const file = path.join(dir, name);
      await writeFile(file, data);
      const chunker = chunkerFor(name, params);
      const fh = await openFile(file, 'r');
      let fromFile: Buffer[];
      try {
        fromFile = await collect(chunker, fileByteSource(fh));
      } finally {
        await fh.close();
      }
      const fromStream = await collect(chunker, streamByteSource(pieces(data, [65536, 1, 4095])));
      expect(lengthsOf(fromFile)).toEqual(lengthsOf(fromStream));
      expect(lengthsOf(fromFile)).toEqual(cutAll(chunker, data));
      expect(Buffer.concat(fromFile).equals(data)).toBe(true);
    }
  });

  it('empty pieces in a stream do not end it early (streamByteSource must not report 0 = end of input)', async () => {
    // An async iterable may yield an empty Uint8Array (e.g. a generator that flushes
    // an empty buffer). The ByteSource contract treats a 0-byte read as EOF, so the
    // rest of the stream must still be read.
    const data = pseudoRandomBytes('gap', 10_000);
    async function* withGap() {
      yield data.subarray(0, 3000);
      yield new Uint8Array(0);
      yield data.subarray(3000);
    }
    const chunks = await collect(chunkerFor('gap'), streamByteSource(withGap()));
    expect(Buffer.concat(chunks).length).toBe(data.length);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });

  it('a different chunker key gives different boundaries on random data', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer(), fc.integer(), (seed, k1, k2) => {
        fc.pre(k1 !== k2);
        const data = pseudoRandomBytes(seed, 64 * 1024);
        const a = cutAll(chunkerFor(k1), data);
        const b = cutAll(chunkerFor(k2), data);
        expect(a.length).toBeGreaterThan(10);
        expect(a).not.toEqual(b);
      }),
      { numRuns: 50 },
    );
  });

  it('resynchronises after an insertion near the start: most later chunks are unchanged', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 0, max: 64 * 1024 }),
        fc.integer({ min: 1, max: 300 }),
        (seed, at, insertLength) => {
          const chunker = chunkerFor(seed, MEDIUM);
          const original = pseudoRandomBytes(seed, 4 * 1024 * 1024);
          const edited = Buffer.concat([
            original.subarray(0, at),
            pseudoRandomBytes(`ins${seed}`, insertLength),
            original.subarray(at),
          ]);
          const hashes = (buf: Buffer) => {
            const out: Array<{ start: number; hash: string }> = [];
            let start = 0;
            for (const len of cutAll(chunker, buf)) {
              out.push({
                start,
                hash: createHash('sha256')
                  .update(buf.subarray(start, start + len))
                  .digest('hex'),
              });
              start += len;
            }
            return out;
          };
          const before = new Set(hashes(original).map((c) => c.hash));
          const after = hashes(edited).filter((c) => c.start >= at + insertLength);
          expect(after.length).toBeGreaterThan(300);
          const shared = after.filter((c) => before.has(c.hash)).length;
          expect(shared / after.length).toBeGreaterThanOrEqual(0.8);
        },
      ),
      { numRuns: 8 },
    );
  });

  it('average chunk size on 64 MiB of random data is within ±50% of avg (16/64/256 KiB)', () => {
    const params = { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 };
    const data = randomBytes(64 * 1024 * 1024);
    const lengths = cutAll(new Chunker(params, gearTable(randomBytes(32))), data);
    checkSizes(lengths, params, data.length);
    const average = data.length / lengths.length;
    expect(average).toBeGreaterThanOrEqual(params.avg * 0.5);
    expect(average).toBeLessThanOrEqual(params.avg * 1.5);
    // Normalised chunking: not everything is pinned at min or max.
    const atMax = lengths.filter((l) => l === params.max).length;
    expect(atMax / lengths.length).toBeLessThan(0.05);
  });
});
