import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../../../test/helpers/servers/redis.js';
import { Crc64 } from './crc64.js';
import { TruncatedInput } from './chunk-reader.js';
import { parseRdb, parseRdbStream, RdbFormatError, type RdbSummary } from './rdb-parser.js';
import { parseInfo, parseKeyspace } from './server-info.js';

/** Feed a buffer to the parser in pieces of `size` bytes (1 = every field crosses a boundary). */
function parseInPieces(data: Buffer, size: number): Promise<RdbSummary> {
  let at = 0;
  return parseRdb(async () => {
    if (at >= data.length) return undefined;
    const piece = data.subarray(at, at + size);
    at += size;
    return piece;
  });
}

async function* once(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}

describe('CRC-64 (Jones, reflected)', () => {
  it('gives the check value Redis documents for "123456789"', () => {
    expect(new Crc64().update(Buffer.from('123456789')).hex()).toBe('e9c6d914c4b8d9ca');
  });
  it('is the same whether fed at once or in pieces', () => {
    const data = randomBytes(10_000);
    const pieces = new Crc64();
    for (let i = 0; i < data.length; i += 333) pieces.update(data.subarray(i, i + 333));
    expect(pieces.hex()).toBe(new Crc64().update(data).hex());
  });
});

describe('RDB parser against files written by redis-server', () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  const db = (n: number) => {
    const c = server.client(n);
    clients.push(c);
    return c;
  };

  /** Empty the server, fill it, SAVE, and return the file with the server's own counts. */
  async function saved(
    fill: () => Promise<void>,
  ): Promise<{ rdb: Buffer; expected: { keys: Record<string, number>; expiringKeys: Record<string, number> } }> {
    await db(0).flushall();
    await fill();
    await db(0).save();
    const expected = parseKeyspace(parseInfo(await db(0).info('keyspace')));
    const rdb = await readFile(path.join(server.dir, 'dump.rdb'));
    return { rdb, expected };
  }

  async function expectParsedLikeServer(fill: () => Promise<void>): Promise<RdbSummary> {
    const { rdb, expected } = await saved(fill);
    // DBSIZE per database is the server's own count.
    for (const name of Object.keys(expected.keys))
      expect(await db(Number(name.slice(2))).dbsize()).toBe(expected.keys[name]);
    const summary = await parseRdbStream(once(rdb));
    expect(summary.keys).toEqual(expected.keys);
    expect(summary.expiringKeys).toEqual(expected.expiringKeys);
    expect(summary.rdbVersion).toBe(10);
    expect(summary.checksumVerified).toBe(true);
    expect(summary.checksum).toBe(rdb.subarray(-8).reverse().toString('hex'));
    expect(summary.bytes).toBe(rdb.length);
    expect(summary.aux['redis-ver']).toMatch(/^7\./);
    const check = spawnSync('redis-check-rdb', [path.join(server.dir, 'dump.rdb')], { encoding: 'utf8' });
    expect(check.status, check.stdout).toBe(0);
    return summary;
  }

  beforeAll(async () => {
    server = await startRedis({ password: 'parser-test-password' });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await server?.stop();
  });

  it('strings: short, integer-encoded, compressible (LZF) and large random', async () => {
    await expectParsedLikeServer(async () => {
      const c = db(0);
      await c.set('short', 'hello');
      await c.set('int8', '7');
      await c.set('int16', '-1234');
      await c.set('int32', '123456789');
      await c.set('bigint', '12345678901234567890');
      await c.set('compressible', 'abc'.repeat(20_000));
      await c.set('random', randomBytes(300_000));
      await c.set('empty', '');
    });
  });

  it('lists: small (listpack), big (several quicklist nodes) and huge elements', async () => {
    await expectParsedLikeServer(async () => {
      const c = db(0);
      await c.rpush('small', 'a', 'b', '3');
      for (let i = 0; i < 20; i++) await c.rpush('big', ...Array.from({ length: 500 }, (_, j) => `element-${i}-${j}`));
      await c.rpush('fat', randomBytes(20_000), 'x', randomBytes(70_000));
    });
  });

  it('sets: of integers (intset), of strings, and big', async () => {
    await expectParsedLikeServer(async () => {
      const c = db(0);
      await c.sadd('ints', 1, 2, 3, -40, 100000);
      await c.sadd('strings', 'a', 'b', 'c');
      await c.sadd('bigints', ...Array.from({ length: 2000 }, (_, i) => i));
      await c.sadd('big', ...Array.from({ length: 3000 }, (_, i) => `member-${i}`));
    });
  });

  it('sorted sets: small (listpack) and big (skiplist), with special scores', async () => {
    await expectParsedLikeServer(async () => {
      const c = db(0);
      await c.zadd('small', 1, 'a', 2.5, 'b', '-inf', 'c', '+inf', 'd');
      await c.zadd('big', ...Array.from({ length: 1000 }, (_, i) => [i / 3, `m${i}`]).flat());
      await c.zadd('fat-member', 1, 'x'.repeat(200));
    });
  });

  it('hashes: small (listpack) and big (hashtable)', async () => {
    await expectParsedLikeServer(async () => {
      const c = db(0);
      await c.hset('small', 'f1', 'v1', 'f2', '2');
      await c.hset('big', Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`field${i}`, `value${i}`])));
      await c.hset('fat-value', 'f', 'y'.repeat(100));
    });
  });

  it('streams with consumer groups, pending entries and deletions', async () => {
    await expectParsedLikeServer(async () => {
      const c = db(0);
      for (let i = 0; i < 300; i++) await c.xadd('events', '*', 'n', String(i), 'kind', i % 2 ? 'odd' : 'even');
      await c.xdel('events', (await c.xrange('events', '-', '+', 'COUNT', 1))[0]![0]);
      await c.xgroup('CREATE', 'events', 'workers', '0');
      await c.xgroup('CREATE', 'events', 'idle', '$');
      await c.xreadgroup('GROUP', 'workers', 'alice', 'COUNT', 10, 'STREAMS', 'events', '>');
      await c.xreadgroup('GROUP', 'workers', 'bob', 'COUNT', 5, 'STREAMS', 'events', '>');
      const [first] = (await c.xrange('events', '-', '+', 'COUNT', 3)).slice(1);
      await c.xack('events', 'workers', first![0]);
      await c.xadd('empty-stream', '*', 'a', '1');
      await c.xtrim('empty-stream', 'MAXLEN', 0);
    });
  });

  it('keys with TTLs (seconds and milliseconds) and several databases', async () => {
    const summary = await expectParsedLikeServer(async () => {
      await db(0).set('ttl-ex', 'v', 'EX', 1000);
      await db(0).set('ttl-px', 'v', 'PX', 900_000);
      await db(0).set('forever', 'v');
      await db(3).hset('h', 'a', 'b');
      await db(3).expire('h', 500);
      await db(15).sadd('s', 'x');
    });
    expect(summary.keys).toEqual({ db0: 3, db3: 1, db15: 1 });
    expect(summary.expiringKeys).toEqual({ db0: 2, db3: 1, db15: 0 });
  });

  it('function libraries (FUNCTION2) are walked and counted', async () => {
    const summary = await expectParsedLikeServer(async () => {
      await db(0).function('LOAD', "#!lua name=lifeboat\nredis.register_function('hello', function() return 'hi' end)");
      await db(0).set('k', 'v');
    });
    expect(summary.functionLibraries).toBe(1);
    await db(0).function('FLUSH');
  });

  it('reads the same whatever the chunk boundaries', async () => {
    const { rdb } = await saved(async () => {
      await db(0).rpush('l', ...Array.from({ length: 300 }, (_, i) => `x${i}`));
      await db(1).set('s', randomBytes(5000));
      await db(0).xadd('st', '*', 'a', 'b');
    });
    const whole = await parseRdbStream(once(rdb));
    for (const size of [1, 7, 4096]) expect(await parseInPieces(rdb, size)).toEqual(whole);
  });

  it('rejects a damaged, truncated or extended file, and a file that is not an RDB', async () => {
    const { rdb } = await saved(async () => {
      await db(0).set('a', 'some value here');
      await db(0).rpush('b', 'x', 'y', 'z');
    });
    const flipped = Buffer.from(rdb);
    flipped[rdb.length - 20] = flipped[rdb.length - 20]! ^ 0x01;
    await expect(parseRdbStream(once(flipped))).rejects.toBeInstanceOf(RdbFormatError);
    await expect(parseRdbStream(once(rdb.subarray(0, rdb.length - 3)))).rejects.toBeInstanceOf(TruncatedInput);
    await expect(parseRdbStream(once(Buffer.concat([rdb, Buffer.from('\n')])))).rejects.toThrow(/after the end/);
    await expect(parseRdbStream(once(Buffer.from('NOTREDIS0010')))).rejects.toThrow(/not an RDB/);
    await expect(parseRdbStream(once(Buffer.from('REDIS0099')))).rejects.toThrow(/version 99/);
  });

  it('accepts a file saved without a checksum (rdbchecksum no) and says so', async () => {
    const plain = await startRedis({ config: ['rdbchecksum no'] }); // immutable at runtime
    const c = plain.client();
    try {
      await c.set('a', '1');
      await c.save();
      const summary = await parseRdbStream(once(await readFile(path.join(plain.dir, 'dump.rdb'))));
      expect(summary.checksum).toBe('0000000000000000');
      expect(summary.checksumVerified).toBe(false);
      expect(summary.keys).toEqual({ db0: 1 });
    } finally {
      c.disconnect();
      await plain.stop();
    }
  });
});
