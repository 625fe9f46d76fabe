import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMysqlUrl, writeDefaultsFile } from './mysql/connection.js';
import { parsePostgresUrl, toolEnv } from './postgres/connection.js';

/**
 * Several dumps of one run (every database of a server) share a private temp
 * directory. Each gets a credential file of its own, never rewritten: a shared
 * one rewritten for the next dump was read empty by a tool starting at that
 * moment, which then connected without its password (PostgreSQL) or to the
 * default socket as another user (MariaDB).
 */
describe('credential files of database tools', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-credentials-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('PostgreSQL: each tool environment has its own 0600 pgpass file, and an earlier one keeps its content', async () => {
    const conn = parsePostgresUrl('postgres://backup:s3cret@127.0.0.1:5432/app');
    const first = (await toolEnv(conn, dir)).PGPASSFILE!;
    const before = await readFile(first, 'utf8');
    const second = (await toolEnv(conn, dir, 'other')).PGPASSFILE!;
    expect(second).not.toBe(first);
    expect(await readFile(first, 'utf8')).toBe(before);
    expect(before).toBe('*:*:*:*:s3cret\n');
    for (const f of [first, second]) expect((await stat(f)).mode & 0o777).toBe(0o600);
  });

  it('MariaDB: each option file is a file of its own, and an earlier one keeps its content', async () => {
    const conn = parseMysqlUrl('mysql://backup:s3cret@127.0.0.1:3306/app');
    const first = await writeDefaultsFile(conn, dir);
    const before = await readFile(first, 'utf8');
    const second = await writeDefaultsFile(conn, dir);
    expect(second).not.toBe(first);
    expect(await readFile(first, 'utf8')).toBe(before);
    expect(before).toContain('password="s3cret"');
    for (const f of [first, second]) expect((await stat(f)).mode & 0o777).toBe(0o600);
  });
});
