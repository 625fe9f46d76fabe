/**
 * A streaming walk over a Redis RDB file (versions 1–12): it visits every
 * entry without building values, counts keys (and keys with a TTL) per
 * database and verifies the CRC-64 trailer. Values are skipped by their
 * encoded lengths, so memory does not depend on the size of a key.
 *
 * @module
 */

import { ChunkReader } from './chunk-reader.js';
import { Crc64, trailerHex } from './crc64.js';

export interface RdbSummary {
  rdbVersion: number;
  /** Keys per database, `{ db0: 1200, db3: 5 }`; databases without keys are absent. */
  keys: Record<string, number>;
  /** Keys with an expiry time, for the same databases as `keys`. */
  expiringKeys: Record<string, number>;
  /** The checksum stored in the trailer, 16 hex digits; all zeros when the server saves without one. */
  checksum: string;
  checksumVerified: boolean;
  /** Short auxiliary fields (`redis-ver`, `redis-bits`, `ctime`, …). */
  aux: Record<string, string>;
  functionLibraries: number;
  bytes: number;
}

export class RdbFormatError extends Error {}

const MAX_RDB_VERSION = 12;
const NO_CHECKSUM = '0000000000000000';

const OP = {
  SLOT_INFO: 244,
  FUNCTION2: 245,
  FUNCTION_PRE_GA: 246,
  MODULE_AUX: 247,
  IDLE: 248,
  FREQ: 249,
  AUX: 250,
  RESIZEDB: 251,
  EXPIRETIME_MS: 252,
  EXPIRETIME: 253,
  SELECTDB: 254,
  EOF: 255,
} as const;

const TYPE = {
  STRING: 0,
  LIST: 1,
  SET: 2,
  ZSET: 3,
  HASH: 4,
  ZSET_2: 5,
  MODULE_2: 7,
  HASH_ZIPMAP: 9,
  LIST_ZIPLIST: 10,
  SET_INTSET: 11,
  ZSET_ZIPLIST: 12,
  HASH_ZIPLIST: 13,
  LIST_QUICKLIST: 14,
  STREAM_LISTPACKS: 15,
  HASH_LISTPACK: 16,
  ZSET_LISTPACK: 17,
  LIST_QUICKLIST_2: 18,
  STREAM_LISTPACKS_2: 19,
  SET_LISTPACK: 20,
  STREAM_LISTPACKS_3: 21,
} as const;

/** Types stored as one (possibly compressed) string: ziplists, listpacks, intsets, zipmaps. */
const SINGLE_BLOB_TYPES = new Set<number>([
  TYPE.STRING,
  TYPE.HASH_ZIPMAP,
  TYPE.LIST_ZIPLIST,
  TYPE.SET_INTSET,
  TYPE.ZSET_ZIPLIST,
  TYPE.HASH_ZIPLIST,
  TYPE.HASH_LISTPACK,
  TYPE.ZSET_LISTPACK,
  TYPE.SET_LISTPACK,
]);

export async function parseRdb(pull: () => Promise<Buffer | undefined>): Promise<RdbSummary> {
  const crc = new Crc64();
  const r = new ChunkReader(pull, (bytes) => crc.update(bytes));
  const fail = (what: string) => new RdbFormatError(`${what} at byte ${r.offset}`);

  const header = (await r.take(9)).toString('latin1');
  if (!/^REDIS\d{4}$/.test(header)) throw new RdbFormatError('not an RDB file (no REDIS magic at the start)');
  const rdbVersion = Number(header.slice(5));
  if (rdbVersion < 1 || rdbVersion > MAX_RDB_VERSION)
    throw new RdbFormatError(`RDB version ${rdbVersion} is not supported (1 to ${MAX_RDB_VERSION} are)`);

  const lengthAfter = async (first: number): Promise<number> => {
    switch (first >> 6) {
      case 0:
        return first & 0x3f;
      case 1:
        return ((first & 0x3f) << 8) | (await r.byte());
      case 2:
        if (first === 0x80) return (await r.take(4)).readUInt32BE(0);
        if (first === 0x81) return Number((await r.take(8)).readBigUInt64BE(0));
        throw fail(`unknown length prefix 0x${first.toString(16)}`);
      default:
        throw fail('an encoded value where a length was expected');
    }
  };
  const length = async () => lengthAfter(await r.byte());

  /** A string: read when short and plain (aux fields), otherwise skipped; undefined when skipped. */
  const string = async (keepUpTo = 0): Promise<string | undefined> => {
    const first = await r.byte();
    if (first >> 6 === 3) {
      switch (first & 0x3f) {
        case 0:
          return String((await r.take(1)).readInt8(0));
        case 1:
          return String((await r.take(2)).readInt16LE(0));
        case 2:
          return String((await r.take(4)).readInt32LE(0));
        case 3: {
          const compressed = await length();
          await length(); // uncompressed length
          await r.skip(compressed);
          return undefined;
        }
        default:
          throw fail(`unknown string encoding ${first & 0x3f}`);
      }
    }
    const n = await lengthAfter(first);
    if (n <= keepUpTo) return (await r.take(n)).toString('utf8');
    await r.skip(n);
    return undefined;
  };
  const strings = async (count: number) => {
    for (let i = 0; i < count; i++) await string();
  };
  /** Old zset scores: a length byte, or 253/254/255 for nan/+inf/-inf. */
  const doubleString = async () => {
    const n = await r.byte();
    if (n < 253) await r.skip(n);
  };
  /** A module's serialised value: typed fields until the EOF opcode (modules need not be loaded to skip them). */
  const moduleFields = async () => {
    for (;;) {
      const opcode = await length();
      if (opcode === 0) return;
      if (opcode === 1 || opcode === 2) await length();
      else if (opcode === 3) await r.skip(4);
      else if (opcode === 4) await r.skip(8);
      else if (opcode === 5) await string();
      else throw fail(`unknown module field opcode ${opcode}`);
    }
  };
  const stream = async (type: number) => {
    const listpacks = await length();
    await strings(listpacks * 2); // node key (a stream id) and listpack, per node
    for (let i = 0; i < 3; i++) await length(); // entries, last id ms and seq
    if (type >= TYPE.STREAM_LISTPACKS_2) for (let i = 0; i < 5; i++) await length(); // first id, max deleted id, entries added
    const groups = await length();
    for (let g = 0; g < groups; g++) {
      await string(); // group name
      await length(); // last delivered id ms
      await length(); // and seq
      if (type >= TYPE.STREAM_LISTPACKS_2) await length(); // entries read
      const pending = await length();
      for (let p = 0; p < pending; p++) {
        await r.skip(16 + 8); // raw stream id, delivery time
        await length(); // delivery count
      }
      const consumers = await length();
      for (let c = 0; c < consumers; c++) {
        await string(); // consumer name
        await r.skip(type >= TYPE.STREAM_LISTPACKS_3 ? 16 : 8); // seen time (and active time)
        await r.skip(16 * (await length())); // ids of its pending entries
      }
    }
  };
  const value = async (type: number) => {
    if (SINGLE_BLOB_TYPES.has(type)) return void (await string());
    switch (type) {
      case TYPE.LIST:
      case TYPE.SET:
      case TYPE.LIST_QUICKLIST:
        return strings(await length());
      case TYPE.HASH:
        return strings((await length()) * 2);
      case TYPE.ZSET: {
        const n = await length();
        for (let i = 0; i < n; i++) {
          await string();
          await doubleString();
        }
        return;
      }
      case TYPE.ZSET_2: {
        const n = await length();
        for (let i = 0; i < n; i++) {
          await string();
          await r.skip(8);
        }
        return;
      }
      case TYPE.LIST_QUICKLIST_2: {
        const n = await length();
        for (let i = 0; i < n; i++) {
          await length(); // container: plain or packed
          await string();
        }
        return;
      }
      case TYPE.MODULE_2:
        await length(); // module id
        return moduleFields();
      case TYPE.STREAM_LISTPACKS:
      case TYPE.STREAM_LISTPACKS_2:
      case TYPE.STREAM_LISTPACKS_3:
        return stream(type);
      default:
        throw fail(`value type ${type} is not supported`);
    }
  };

  const keys: Record<string, number> = {};
  const expiringKeys: Record<string, number> = {};
  const aux: Record<string, string> = {};
  let functionLibraries = 0;
  let db = 0;
  let expiring = false;
  for (;;) {
    const type = await r.byte();
    if (type === OP.EOF) break;
    switch (type) {
      case OP.EXPIRETIME:
        await r.skip(4);
        expiring = true;
        continue;
      case OP.EXPIRETIME_MS:
        await r.skip(8);
        expiring = true;
        continue;
      case OP.FREQ:
        await r.skip(1);
        continue;
      case OP.IDLE:
        await length();
        continue;
      case OP.SELECTDB:
        db = await length();
        continue;
      case OP.RESIZEDB:
        await length();
        await length();
        continue;
      case OP.SLOT_INFO:
        for (let i = 0; i < 3; i++) await length();
        continue;
      case OP.AUX: {
        const name = await string(256);
        const text = await string(256);
        if (name !== undefined && text !== undefined) aux[name] = text;
        continue;
      }
      case OP.MODULE_AUX:
        await length(); // module id
        if ((await length()) !== 2) throw fail('module aux data without its "when" field');
        await length(); // when
        await moduleFields();
        continue;
      case OP.FUNCTION2:
        await string();
        functionLibraries++;
        continue;
      case OP.FUNCTION_PRE_GA:
        throw fail('functions saved by a Redis 7.0 release candidate are not supported');
    }
    await string(); // the key
    await value(type);
    const name = `db${db}`;
    keys[name] = (keys[name] ?? 0) + 1;
    expiringKeys[name] = (expiringKeys[name] ?? 0) + (expiring ? 1 : 0);
    expiring = false;
  }

  let checksum = NO_CHECKSUM;
  if (rdbVersion >= 5) {
    r.flushConsumed();
    const computed = crc.hex();
    checksum = trailerHex(await r.take(8));
    if (checksum !== NO_CHECKSUM && checksum !== computed)
      throw new RdbFormatError(
        `RDB checksum mismatch: the trailer says ${checksum}, the content hashes to ${computed}`,
      );
  }
  const bytes = r.offset;
  if (!(await r.atEnd())) throw new RdbFormatError(`unexpected data after the end of the RDB (byte ${bytes})`);
  return {
    rdbVersion,
    keys,
    expiringKeys,
    checksum,
    checksumVerified: checksum !== NO_CHECKSUM,
    aux,
    functionLibraries,
    bytes,
  };
}

/** Parse a whole stream of chunks (a file, a snapshot entry). */
export async function parseRdbStream(input: AsyncIterable<Uint8Array>): Promise<RdbSummary> {
  const iterator = input[Symbol.asyncIterator]();
  try {
    return await parseRdb(async () => {
      const next = await iterator.next();
      return next.done ? undefined : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    });
  } finally {
    await iterator.return?.();
  }
}
