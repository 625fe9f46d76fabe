import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pseudoRandomBytes } from '../testing/helpers.js';
import { Chunker, gearTable, type ChunkerParams } from './chunker.js';
import { readChunks, streamByteSource, type StreamChunking } from './chunk-reader.js';
import { isRelationFile } from './postgres-tar.js';

const PARAMS: ChunkerParams = { min: 2048, avg: 8192, max: 65536 };
const chunker = new Chunker(PARAMS, gearTable(pseudoRandomBytes('postgres-tar key', 32)));
const RULE: StreamChunking = { rule: 'postgres-tar', pageSize: 8192 };

/** A 512-byte tar header (ustar, or GNU when `gnu`) with a valid checksum. */
function header(name: string, size: number, type = '0', gnu = false): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write('0000600\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('14712345670\0', 136);
  h.write(type, 156);
  if (gnu) h.write('ustar  \0', 257, 'latin1');
  else h.write('ustar\x0000', 257, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return h;
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

interface Member {
  name: string;
  data?: Buffer;
  type?: string;
  /** Records placed before the header: a pax `path` record, or a GNU long name. */
  longName?: 'pax' | 'gnu';
}

/** A tar of `members`, with the offsets where each member's header records and data start. */
function tarOf(members: Member[]): { tar: Buffer; headers: number[]; data: number[] } {
  const parts: Buffer[] = [];
  const headers: number[] = [];
  const data: number[] = [];
  let at = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    at += b.length;
  };
  for (const m of members) {
    const body = m.data ?? Buffer.alloc(0);
    headers.push(at);
    if (m.longName === 'pax') {
      const record = (len: number) => `${len} path=${m.name}\n`;
      let len = record(0).length;
      while (record(len).length !== len) len = record(len).length;
      const text = Buffer.from(record(len));
      push(header(`PaxHeaders.0/${m.name.slice(-40)}`, text.length, 'x'));
      push(Buffer.concat([text, pad(text.length)]));
    }
    if (m.longName === 'gnu') {
      const text = Buffer.from(`${m.name}\0`);
      push(header('././@LongLink', text.length, 'L', true));
      push(Buffer.concat([text, pad(text.length)]));
    }
    const shortName = m.longName ? `short-${headers.length}` : m.name;
    push(header(shortName, body.length, m.type ?? '0', m.longName === 'gnu'));
    data.push(at);
    push(body);
    push(pad(body.length));
  }
  push(Buffer.alloc(1024));
  return { tar: Buffer.concat(parts), headers, data };
}

async function* pieces(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield Uint8Array.from(data.subarray(i, i + size));
}

/** No rule: content-defined chunks, as for any stream. */
const BY_CONTENT = null;

async function cutsOf(tar: Buffer, feed: number, chunking: StreamChunking | null = RULE): Promise<number[]> {
  const chunks: Buffer[] = [];
  for await (const c of readChunks(chunker, streamByteSource(pieces(tar, feed)), false, chunking ?? undefined))
    chunks.push(c);
  expect(Buffer.concat(chunks).equals(tar)).toBe(true);
  const cuts: number[] = [];
  let at = 0;
  for (const c of chunks) cuts.push((at += c.length));
  return cuts;
}

const longDir = `base/16384/${'d'.repeat(120)}`;
const MEMBERS: Member[] = [
  { name: 'base/', type: '5' },
  { name: 'base/16384/', type: '5' },
  { name: 'PG_VERSION', data: Buffer.from('15\n') },
  { name: 'base/16384/16397', data: pseudoRandomBytes('rel', 5 * 8192) },
  { name: 'base/16384/16397_fsm', data: pseudoRandomBytes('fsm', 3 * 8192 + 1000) }, // not whole pages
  { name: 'base/16384/16400', data: Buffer.alloc(0) }, // an empty relation
  { name: 'global/1262.1', data: pseudoRandomBytes('global', 8192 + 512) },
  { name: 'base/16384/16410', data: pseudoRandomBytes('pax', 2 * 8192 + 7), longName: 'pax' },
  { name: 'base/16384/16411_vm', data: pseudoRandomBytes('gnu', 8192 + 100), longName: 'gnu' },
  { name: `${longDir}/notes.txt`, data: pseudoRandomBytes('long', 3000), longName: 'gnu' },
  { name: 'backup_manifest', data: pseudoRandomBytes('manifest', 300_000) },
];

describe('postgres-tar chunking', () => {
  it('builds a tar that GNU tar reads, with the names and sizes given (so the tests below test real tars)', () => {
    const { tar } = tarOf(MEMBERS);
    const list = spawnSync('tar', ['-tvf', '-'], { input: tar, encoding: 'utf8' });
    expect(list.status).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/).pop())).toEqual(MEMBERS.map((m) => m.name));
    expect(lines.map((l) => Number(l.split(/\s+/)[2]))).toEqual(MEMBERS.map((m) => m.data?.length ?? 0));
  });

  it('cuts at every header, at the start of each member’s data, and at whole pages of relation files', async () => {
    const { tar, headers, data } = tarOf(MEMBERS);
    const cuts = await cutsOf(tar, 1 << 20);
    const expected = new Set<number>();
    // Each header piece starts where the previous member's data ends (padding joins the header piece).
    MEMBERS.forEach((m, i) => {
      const size = m.data?.length ?? 0;
      if (i > 0) expected.add(data[i - 1]! + (MEMBERS[i - 1]!.data?.length ?? 0));
      expected.add(data[i]!);
      if (isRelationFile(m.name)) for (let p = 8192; p < size; p += 8192) expected.add(data[i]! + p);
      expect(headers[i]).toBeLessThan(data[i]!);
    });
    for (const cut of expected) expect(cuts, `a cut at ${cut}`).toContain(cut);
    // Relation data holds no other cut: exactly its pages, the last one shorter when the size is not whole pages.
    MEMBERS.forEach((m, i) => {
      if (!isRelationFile(m.name)) return;
      const inside = cuts.filter((c) => c > data[i]! && c < data[i]! + m.data!.length);
      expect(inside.map((c) => c - data[i]!)).toEqual(
        Array.from({ length: Math.ceil(m.data!.length / 8192) - 1 }, (_, k) => (k + 1) * 8192),
      );
    });
    // The manifest is cut by content, inside its own data.
    const manifest = MEMBERS.length - 1;
    const inManifest = cuts.filter((c) => c > data[manifest]! && c < data[manifest]! + 300_000);
    expect(inManifest.length).toBeGreaterThan(1);
    expect(cuts).toContain(data[manifest]! + 300_000);
    // Header pieces are small: padding, extended records, one header.
    const headerPieces = cuts.map((c, i) => c - (cuts[i - 1] ?? 0)).filter((_, i) => data.includes(cuts[i]!));
    for (const len of headerPieces) expect(len).toBeLessThanOrEqual(512 * 4);
  });

  it('cuts the same way however the stream arrives', async () => {
    const { tar } = tarOf(MEMBERS);
    const reference = await cutsOf(tar, tar.length);
    for (const feed of [1, 511, 512, 513, 8191, 65536]) expect(await cutsOf(tar, feed)).toEqual(reference);
  });

  it('keeps unchanged pages as the same chunks when another page of the file changes', async () => {
    const before = tarOf(MEMBERS).tar;
    const changed = MEMBERS.map((m) => ({ ...m }));
    const rel = Buffer.from(changed[3]!.data!);
    rel[2 * 8192 + 100]! ^= 1;
    changed[3]!.data = rel;
    const after = tarOf(changed).tar;
    const set = async (t: Buffer) => {
      const out = new Set<string>();
      for await (const c of readChunks(chunker, streamByteSource(pieces(t, 1 << 20)), false, RULE))
        out.add(c.toString('hex'));
      return out;
    };
    const old = await set(before);
    const added = [...(await set(after))].filter((c) => !old.has(c));
    expect(added.map((c) => c.length / 2)).toEqual([8192]);
  });

  it('uses pages larger than 8 KiB as the block when the server has them', async () => {
    const { tar, data } = tarOf([{ name: 'base/1/1259', data: pseudoRandomBytes('big', 4 * 32768) }]);
    const cuts = await cutsOf(tar, 1 << 20, { rule: 'postgres-tar', pageSize: 32768 });
    expect(cuts.filter((c) => c > data[0]! && c <= data[0]! + 4 * 32768).map((c) => c - data[0]!)).toEqual([
      32768, 65536, 98304, 131072,
    ]);
  });

  it('falls back to content-defined chunks for what is not a tar, and after a header it cannot read', async () => {
    const junk = pseudoRandomBytes('not a tar', 400_000);
    expect(await cutsOf(junk, 1 << 20)).toEqual(await cutsOf(junk, 1 << 20, BY_CONTENT));
    // A page size that is not a power of two from 512 to 65536: the whole tar is cut by content.
    const whole = tarOf(MEMBERS).tar;
    expect(await cutsOf(whole, 1 << 20, { rule: 'postgres-tar', pageSize: 3000 })).toEqual(
      await cutsOf(whole, 1 << 20, BY_CONTENT),
    );
    const { tar, data } = tarOf(MEMBERS.slice(0, 5));
    const broken = Buffer.from(tar);
    const fourth = data[4]! - 512;
    broken[fourth + 10]! ^= 0xff; // the fsm file's header: its checksum no longer matches
    const cuts = await cutsOf(broken, 4096);
    // Pages of the relation before the bad header are still cut at pages; nothing after it is.
    expect(cuts).toContain(data[3]! + 8192);
    expect(cuts).toContain(fourth);
    expect(cuts.filter((c) => c > fourth && c < broken.length)).toEqual(
      (await cutsOf(broken.subarray(fourth), 1 << 20, BY_CONTENT)).map((c) => c + fourth).slice(0, -1),
    );
    // A truncated stream: whatever arrived, unchanged.
    await cutsOf(tar.subarray(0, data[3]! + 5000), 777);
  });

  it('takes the size from a pax size record over the header, as for members of 8 GiB and more', async () => {
    const body = pseudoRandomBytes('pax size', 2 * 8192);
    const records = Buffer.from('30 path=base/16384/16420.1023\n14 size=16384\n');
    const tar = Buffer.concat([
      header('PaxHeaders.0/16420', records.length, 'x'),
      records,
      pad(records.length),
      header('base/16384/16420', 0),
      body,
      Buffer.alloc(1024),
    ]);
    const start = 512 + 512 + 512;
    const cuts = await cutsOf(tar, 1 << 20);
    expect(cuts.slice(0, 3)).toEqual([start, start + 8192, start + 16384]);
  });

  it('recognises relation files by their path', () => {
    for (const name of ['base/1/1259', 'base/16384/16397.12', 'global/1262', 'base/5/2619_fsm', './base/5/2619_vm'])
      expect(isRelationFile(name), name).toBe(true);
    for (const name of [
      'PG_VERSION',
      'global/pg_control',
      'base/16384/PG_VERSION',
      'pg_xact/0000',
      'base/1/pgsql_tmp1',
    ])
      expect(isRelationFile(name), name).toBe(false);
  });
});
