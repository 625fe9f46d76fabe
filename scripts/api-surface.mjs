#!/usr/bin/env node
/**
 * The public API of the package, as its types declare it: every name exported
 * by dist/index.d.ts with its signature (functions and their overloads,
 * classes with their public members, interfaces with their properties, type
 * aliases, constants), read with the TypeScript compiler API.
 *
 *   node scripts/api-surface.mjs            print it
 *   node scripts/api-surface.mjs --write    write docs/api-surface.md (npm run api:surface)
 *
 * test/package/api-surface.test.ts fails when the committed file differs, so
 * that a change to the public API is a visible diff in review.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SURFACE_FILE = path.join(root, 'docs/api-surface.md');

export function apiSurface() {
  const entry = path.join(root, 'dist/index.d.ts');
  readFileSync(entry); // a clear ENOENT when the package is not built
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry));
  const flags = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.WriteArrowStyleSignature;
  // Types by name, not by the absolute path of the file declaring them: the report must not depend on the checkout.
  const local = (text) => text.replace(/import\("[^"]+"(?:, \{ with: \{ "resolution-mode": "import" \} \})?\)\./g, '');
  const str = (type) => local(checker.typeToString(type, undefined, flags));
  const sig = (s) => local(checker.signatureToString(s, undefined, flags));
  const members = (type) =>
    checker
      .getPropertiesOfType(type)
      .filter(
        (p) =>
          !p.getName().startsWith('#') &&
          !(
            p.valueDeclaration &&
            ts.getCombinedModifierFlags(p.valueDeclaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)
          ),
      )
      .map((p) => {
        const optional = p.flags & ts.SymbolFlags.Optional ? '?' : '';
        const t = checker.getTypeOfSymbol(p);
        const calls = t.getCallSignatures();
        return calls.length && p.flags & ts.SymbolFlags.Method
          ? calls.map((c) => `  ${p.getName()}${optional}${sig(c)}`).join('\n')
          : `  ${p.getName()}${optional}: ${str(t)}`;
      });

  const lines = [];
  for (const exported of checker
    .getExportsOfModule(moduleSymbol)
    .sort((a, b) => a.getName().localeCompare(b.getName()))) {
    const name = exported.getName();
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const f = symbol.flags;
    if (f & ts.SymbolFlags.Class) {
      const instance = checker.getDeclaredTypeOfSymbol(symbol);
      const statics = checker.getTypeOfSymbol(symbol);
      lines.push(`class ${name}`);
      for (const c of statics.getConstructSignatures()) lines.push(`  new${sig(c).replace(/ => .*$/, '')}`);
      for (const m of members(statics).filter((m) => !m.startsWith('  prototype'))) lines.push(`  static${m.slice(1)}`);
      lines.push(...members(instance));
    } else if (f & ts.SymbolFlags.Function) {
      for (const c of checker.getTypeOfSymbol(symbol).getCallSignatures()) lines.push(`function ${name}${sig(c)}`);
    } else if (f & ts.SymbolFlags.Interface) {
      lines.push(`interface ${name}`, ...members(checker.getDeclaredTypeOfSymbol(symbol)));
    } else if (f & ts.SymbolFlags.TypeAlias && !(f & ts.SymbolFlags.Value)) {
      const decl = symbol.declarations?.[0];
      lines.push(
        `type ${name} = ${decl && ts.isTypeAliasDeclaration(decl) ? decl.type.getText().replace(/\s+/g, ' ') : str(checker.getDeclaredTypeOfSymbol(symbol))}`,
      );
    } else if (f & ts.SymbolFlags.Variable) {
      lines.push(`const ${name}: ${str(checker.getTypeOfSymbol(symbol))}`);
      if (f & ts.SymbolFlags.TypeAlias) lines.push(`type ${name} = ${str(checker.getDeclaredTypeOfSymbol(symbol))}`);
    } else {
      lines.push(`${ts.SymbolFlags[f] ?? 'symbol'} ${name}`);
    }
  }
  return `# The public API of \`lifeboat\`

Generated from \`dist/index.d.ts\` by \`npm run api:surface\` (after \`npm run build\`); checked by
\`test/package/api-surface.test.ts\`. Do not edit by hand: a change here is a change to the public API.

\`\`\`ts
${lines.join('\n')}
\`\`\`
`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = apiSurface();
  if (process.argv.includes('--write')) {
    writeFileSync(SURFACE_FILE, text);
    process.stdout.write(`wrote ${path.relative(root, SURFACE_FILE)}\n`);
  } else process.stdout.write(text);
}
