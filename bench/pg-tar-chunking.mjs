#!/usr/bin/env node
// Compares chunking rules on a series of pg_basebackup tars (as `node bench/pitr.mjs --base-only
// --keep-tars DIR` writes them): content-defined chunks, and the postgres-tar rule with relation data
// in blocks of 8, 16 and 32 KiB (ADR 0044). For each tar after the first: bytes of chunks not seen in
// the tars before it, raw and zstd-compressed (level 3, one chunk at a time, as the repository stores
// them), and the number of chunks. Needs a build (dist/). Usage: node bench/pg-tar-chunking.mjs A.tar B.tar…
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { Chunker, DEFAULT_CHUNKER, gearTable, readChunks } = await import(
  path.join(ROOT, 'dist/repository/chunking/index.js')
);
const { BlobCompressor } = await import(path.join(ROOT, 'dist/repository/format/codec.js'));

const tars = process.argv.slice(2);
if (tars.length < 2) throw new Error('usage: node bench/pg-tar-chunking.mjs FIRST.tar NEXT.tar…');
const chunker = new Chunker(DEFAULT_CHUNKER, gearTable(createHash('sha256').update('bench key').digest()));
const compressor = new BlobCompressor(3);
const rules = {
  'content-defined': undefined,
  // The block is max(page size, 8 KiB): a larger "page size" gives the larger blocks.
  '8 KiB': { rule: 'postgres-tar', pageSize: 8192 },
  '16 KiB': { rule: 'postgres-tar', pageSize: 16384 },
  '32 KiB': { rule: 'postgres-tar', pageSize: 32768 },
};

const rows = [];
for (const [name, rule] of Object.entries(rules)) {
  const seen = new Set();
  for (const tar of tars) {
    const fh = await open(tar);
    let position = 0;
    const source = async (into, offset, length) => {
      const { bytesRead } = await fh.read(into, offset, length, position);
      position += bytesRead;
      return bytesRead;
    };
    const row = { rule: name, tar: path.basename(tar), chunks: 0, newChunks: 0, newBytes: 0, newCompressed: 0 };
    for await (const chunk of readChunks(chunker, source, true, rule)) {
      row.chunks++;
      const id = createHash('sha256').update(chunk).digest('latin1');
      if (seen.has(id)) continue;
      seen.add(id);
      row.newChunks++;
      row.newBytes += chunk.length;
      row.newCompressed += compressor.compress(chunk).payload.length;
    }
    row.tarBytes = position;
    await fh.close();
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
