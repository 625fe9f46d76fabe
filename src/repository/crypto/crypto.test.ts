import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../errors/index.js';
import {
  blobId,
  deriveRepositoryKeys,
  ENVELOPE_OVERHEAD,
  ENVELOPE_VERSION,
  MASTER_SECRET_BYTES,
  newMasterSecret,
  open,
  seal,
  sealParts,
  type ObjectKind,
} from './crypto.js';
import { expectThrowsCode, flipBit, onlyLifeboatErrors, pseudoRandomBytes } from '../testing/helpers.js';

const KINDS: ObjectKind[] = ['blob', 'pack-header', 'index', 'snapshot', 'config', 'lock', 'master-key', 'audit'];
const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const plaintextArb = fc.uint8Array({ minLength: 0, maxLength: 2048 });

describe('seal / open', () => {
  it('round-trips any plaintext, including empty, for every kind', () => {
    fc.assert(
      fc.property(key32, fc.constantFrom(...KINDS), plaintextArb, (key, kind, plain) => {
        const sealed = seal(key, kind, plain);
        expect(sealed.length).toBe(plain.length + ENVELOPE_OVERHEAD);
        expect(sealed[0]).toBe(ENVELOPE_VERSION);
        const opened = open(key, kind, sealed);
        expect(Buffer.isBuffer(opened)).toBe(true);
        expect(opened.equals(Buffer.from(plain))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('opens an envelope that is a view into a larger buffer', () => {
    const key = randomBytes(32);
    const plain = pseudoRandomBytes('view', 1000);
    const sealed = seal(key, 'blob', plain);
    const big = Buffer.concat([Buffer.alloc(37, 9), sealed, Buffer.alloc(11, 7)]);
    const view = new Uint8Array(big.buffer, big.byteOffset + 37, sealed.length);
    expect(open(key, 'blob', view).equals(plain)).toBe(true);
  });

  it('does not leak the plaintext into the envelope', () => {
    const key = randomBytes(32);
    const plain = Buffer.from('a very recognisable secret string, repeated '.repeat(4));
    expect(seal(key, 'snapshot', plain).includes(Buffer.from('recognisable'))).toBe(false);
  });

  it('any single flipped bit anywhere in the envelope gives corrupt', () => {
    fc.assert(
      fc.property(key32, fc.constantFrom(...KINDS), plaintextArb, fc.nat(), (key, kind, plain, bitSeed) => {
        const sealed = seal(key, kind, plain);
        const bit = bitSeed % (sealed.length * 8);
        expectThrowsCode(() => open(key, kind, flipBit(sealed, bit)), ErrorCode.Corrupt);
      }),
      { numRuns: 300 },
    );
  });

  it('every bit of a short envelope is protected (exhaustive)', () => {
    const key = randomBytes(32);
    const sealed = seal(key, 'index', Buffer.from('xyz'));
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      expectThrowsCode(() => open(key, 'index', flipBit(sealed, bit)), ErrorCode.Corrupt);
    }
  });

  it('a wrong key gives corrupt', () => {
    fc.assert(
      fc.property(key32, key32, plaintextArb, (k1, k2, plain) => {
        fc.pre(!Buffer.from(k1).equals(Buffer.from(k2)));
        expectThrowsCode(() => open(k2, 'blob', seal(k1, 'blob', plain)), ErrorCode.Corrupt);
      }),
      { numRuns: 100 },
    );
  });

  it('a wrong kind (additional authenticated data) gives corrupt', () => {
    fc.assert(
      fc.property(key32, fc.constantFrom(...KINDS), fc.constantFrom(...KINDS), plaintextArb, (key, k1, k2, plain) => {
        fc.pre(k1 !== k2);
        expectThrowsCode(() => open(key, k2, seal(key, k1, plain)), ErrorCode.Corrupt);
      }),
      { numRuns: 100 },
    );
  });

  it('a truncated envelope gives corrupt, whatever the cut', () => {
    fc.assert(
      fc.property(key32, plaintextArb, fc.nat(), (key, plain, cutSeed) => {
        const sealed = seal(key, 'config', plain);
        const keep = cutSeed % sealed.length; // 0 … length-1
        expectThrowsCode(() => open(key, 'config', sealed.subarray(0, keep)), ErrorCode.Corrupt);
        // Dropping bytes at the front is no better.
        expectThrowsCode(() => open(key, 'config', sealed.subarray(sealed.length - keep)), ErrorCode.Corrupt);
      }),
      { numRuns: 200 },
    );
  });

  it('appended bytes give corrupt', () => {
    const key = randomBytes(32);
    const sealed = seal(key, 'lock', Buffer.from('{}'));
    expectThrowsCode(() => open(key, 'lock', Buffer.concat([sealed, Buffer.from([0])])), ErrorCode.Corrupt);
  });

  it('an unknown envelope version gives corrupt', () => {
    const key = randomBytes(32);
    const sealed = seal(key, 'blob', Buffer.from('hello'));
    for (const v of [0, 2, 255]) {
      const copy = Buffer.from(sealed);
      copy[0] = v;
      expectThrowsCode(() => open(key, 'blob', copy), ErrorCode.Corrupt);
    }
  });

  it('random garbage only ever throws corrupt', () => {
    fc.assert(
      fc.property(key32, fc.uint8Array({ minLength: 0, maxLength: 200 }), (key, junk) => {
        const r = onlyLifeboatErrors(() => open(key, 'blob', junk), [ErrorCode.Corrupt]);
        // A forgery would need to guess a GCM tag.
        expect(r).toBeInstanceOf(Error);
      }),
      { numRuns: 300 },
    );
  });

  it('a context (blob id) is bound as additional data: it must match exactly', () => {
    fc.assert(
      fc.property(
        key32,
        plaintextArb,
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        (key, plain, c1, c2) => {
          const sealed = seal(key, 'blob', plain, c1);
          expect(open(key, 'blob', sealed, c1).equals(Buffer.from(plain))).toBe(true);
          expect(open(key, 'blob', sealed, Buffer.from(c1)).equals(Buffer.from(plain))).toBe(true);
          expectThrowsCode(() => open(key, 'blob', sealed), ErrorCode.Corrupt);
          if (!Buffer.from(c1).equals(Buffer.from(c2)))
            expectThrowsCode(() => open(key, 'blob', sealed, c2), ErrorCode.Corrupt);
          // Without a context the envelope does not open with one either.
          expectThrowsCode(() => open(key, 'blob', seal(key, 'blob', plain), c1), ErrorCode.Corrupt);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('two seals of the same plaintext differ (a new nonce each time) and both open', () => {
    const key = randomBytes(32);
    for (const plain of [Buffer.alloc(0), Buffer.from('same'), pseudoRandomBytes('same', 4096)]) {
      const a = seal(key, 'blob', plain);
      const b = seal(key, 'blob', plain);
      expect(a.equals(b)).toBe(false);
      // Salt ‖ nonce (bytes 1..29) differ, and so do the ciphertexts.
      expect(a.subarray(1, 29).equals(b.subarray(1, 29))).toBe(false);
      if (plain.length > 0)
        expect(a.subarray(29, 29 + plain.length).equals(b.subarray(29, 29 + plain.length))).toBe(false);
      expect(open(key, 'blob', a).equals(plain)).toBe(true);
      expect(open(key, 'blob', b).equals(plain)).toBe(true);
    }
  });

  it('(salt, nonce) pairs never repeat over many seals; one session shares its salt', () => {
    const key = randomBytes(32);
    const headers = new Set<string>();
    const salts = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const env = seal(key, 'blob', Buffer.alloc(0));
      headers.add(env.subarray(1, 29).toString('hex'));
      salts.add(env.subarray(1, 17).toString('hex'));
    }
    expect(headers.size).toBe(2000);
    expect(salts.size).toBe(1);
    // Another key gets a salt (and so a derived key) of its own.
    const other = seal(randomBytes(32), 'blob', Buffer.alloc(0));
    expect(salts.has(other.subarray(1, 17).toString('hex'))).toBe(false);
  });
});

describe('sealParts', () => {
  /** Each ArrayBuffer under the pieces, with how many of its bytes the pieces cover. */
  function coverage(parts: Buffer[]): Map<ArrayBufferLike, number> {
    const covered = new Map<ArrayBufferLike, number>();
    for (const p of parts) covered.set(p.buffer, (covered.get(p.buffer) ?? 0) + p.byteLength);
    return covered;
  }

  it('gives pieces, whose memory nothing else uses, that concatenate to an envelope that opens', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 5000, size: 'max' }), { maxLength: 4 }), (pieces) => {
        const key = pseudoRandomBytes('parts key', 32);
        const id = randomBytes(32);
        const parts = sealParts(key, 'blob', pieces, id);
        // Transferable between threads: every ArrayBuffer is covered exactly by the pieces.
        for (const [buffer, bytes] of coverage(parts)) expect(bytes).toBe(buffer.byteLength);
        const envelope = Buffer.concat(parts);
        expect(envelope.length).toBe(ENVELOPE_OVERHEAD + pieces.reduce((n, p) => n + p.length, 0));
        expect(open(key, 'blob', envelope, id).equals(Buffer.concat(pieces))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('keeps a blob (codec byte, then payload) in two buffers: header, codec byte and tag share one', () => {
    const key = pseudoRandomBytes('parts key', 32);
    const id = randomBytes(32);
    const payload = pseudoRandomBytes('payload', 256 * 1024);
    const parts = sealParts(key, 'blob', [Buffer.from([1]), payload], id);
    expect(coverage(parts).size).toBe(2);
    expect(open(key, 'blob', Buffer.concat(parts), id).equals(Buffer.concat([Buffer.from([1]), payload]))).toBe(true);
  });
});

describe('deriveRepositoryKeys', () => {
  it('derives distinct 32-byte keys, none equal to the master', () => {
    fc.assert(
      fc.property(key32, (master) => {
        const keys = deriveRepositoryKeys(master);
        expect(keys.master.equals(Buffer.from(master))).toBe(true);
        const derived = [keys.encryption, keys.blobId, keys.chunker];
        for (const k of derived) expect(k.length).toBe(32);
        const all = new Set([keys.master, ...derived].map((k) => k.toString('hex')));
        expect(all.size).toBe(4);
      }),
      { numRuns: 50 },
    );
  });

  it('is deterministic, and different masters give different keys', () => {
    const m1 = pseudoRandomBytes('m1', 32);
    const m2 = pseudoRandomBytes('m2', 32);
    const a = deriveRepositoryKeys(m1);
    const b = deriveRepositoryKeys(Buffer.from(m1));
    const c = deriveRepositoryKeys(m2);
    expect(a.encryption.equals(b.encryption) && a.blobId.equals(b.blobId) && a.chunker.equals(b.chunker)).toBe(true);
    expect(a.encryption.equals(c.encryption)).toBe(false);
    expect(a.blobId.equals(c.blobId)).toBe(false);
    expect(a.chunker.equals(c.chunker)).toBe(false);
  });

  it('copies the master (later changes to the input do not leak into the keys)', () => {
    const m = Buffer.from(pseudoRandomBytes('copy', 32));
    const keys = deriveRepositoryKeys(m);
    m.fill(0);
    expect(keys.master.equals(Buffer.alloc(32))).toBe(false);
  });

  it('rejects a master of the wrong length with wrong_password', () => {
    for (const n of [0, 16, 31, 33, 64])
      expectThrowsCode(() => deriveRepositoryKeys(Buffer.alloc(n)), ErrorCode.WrongPassword);
  });

  it('newMasterSecret gives fresh 32-byte secrets', () => {
    const a = newMasterSecret();
    const b = newMasterSecret();
    expect(a.length).toBe(MASTER_SECRET_BYTES);
    expect(a.equals(b)).toBe(false);
  });
});

describe('blobId', () => {
  it('is HMAC-SHA256 under the id key (keyed, not a plain hash)', () => {
    fc.assert(
      fc.property(key32, key32, fc.uint8Array({ maxLength: 512 }), (k1, k2, data) => {
        fc.pre(!Buffer.from(k1).equals(Buffer.from(k2)));
        const id = blobId(k1, data);
        expect(id.length).toBe(32);
        expect(id.equals(createHmac('sha256', k1).update(data).digest())).toBe(true);
        expect(id.equals(blobId(k1, Buffer.from(data)))).toBe(true);
        expect(id.equals(blobId(k2, data))).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('distinguishes different contents', () => {
    const key = randomBytes(32);
    expect(blobId(key, Buffer.from('a')).equals(blobId(key, Buffer.from('b')))).toBe(false);
    expect(blobId(key, Buffer.alloc(0)).equals(blobId(key, Buffer.alloc(1)))).toBe(false);
  });
});
