// The lint configuration keeps the rooms of repository/ and storage/drivers/ behind their faces: code
// outside a room imports its index.js, never one of its inner files. These snippets are linted with
// the project's own eslint.config.js, as files at the paths given, without being written anywhere.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({ cwd: root, overrideConfigFile: path.join(root, 'eslint.config.js') });
});

/** Lints `code` as if it were the file at `file` (relative to the project root); returns the messages. */
async function lint(file: string, code: string) {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result!.messages.map((m) => ({ rule: m.ruleId, line: m.line, message: m.message }));
}

describe('no deep imports into a room', () => {
  it('reports an inner file of a repository room imported from another folder', async () => {
    const messages = await lint(
      'src/archiver/synthetic.ts',
      "import { a } from '../repository/format/header.js';\nexport const b = a;\n",
    );
    expect(messages).toEqual([
      expect.objectContaining({ rule: 'no-restricted-imports', line: 1, message: expect.stringContaining('index.js') }),
    ]);
  });

  it('reports re-exports and type imports of inner files too', async () => {
    const messages = await lint(
      'src/index.ts',
      "export { a } from './repository/crypto/keys.js';\nimport type { B } from './repository/index/master.js';\nexport type C = B;\n",
    );
    expect(messages.map((m) => [m.rule, m.line])).toEqual([
      ['no-restricted-imports', 1],
      ['no-restricted-imports', 2],
    ]);
  });

  it('reports an inner file of a storage driver, from storage/ itself and from a repository room', async () => {
    const fromStorage = await lint(
      'src/storage/registry.ts',
      "import { a } from './drivers/sftp/connection.js';\nexport const b = a;\n",
    );
    const fromRepository = await lint(
      'src/repository/format/synthetic.ts',
      "import { a } from '../../storage/drivers/s3/client.js';\nexport const b = a;\n",
    );
    expect(fromStorage.map((m) => m.rule)).toEqual(['no-restricted-imports']);
    expect(fromRepository.map((m) => m.rule)).toEqual(['no-restricted-imports']);
  });

  it('accepts faces: a room index.js, a top-level repository file, a driver index.js, test helpers', async () => {
    const code = [
      "import { a } from '../repository/format/index.js';",
      "import { b } from '../repository/pack-ranges.js';",
      "import { c } from '../storage/drivers/s3/index.js';",
      "import { d } from '../storage/drivers/memory.js';",
      "import { e } from '../repository/testing/helpers.js';",
      'export const all = [a, b, c, d, e];',
      '',
    ].join('\n');
    expect(await lint('src/copier/synthetic.ts', code)).toEqual([]);
  });

  it('lets the files of a room import each other', async () => {
    const messages = await lint(
      'src/repository/index/synthetic.ts',
      "import { a } from '../format/header.js';\nimport { b } from '../../repository/crypto/keys.js';\nexport const c = [a, b];\n",
    );
    expect(messages).toEqual([]);
  });
});
