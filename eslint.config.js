// ESLint flat config. Formatting belongs to Prettier (.prettierrc.json); eslint-config-prettier, last,
// switches off every stylistic rule that would disagree with it.
//
// The rule set is typescript-eslint's "recommended" without type information: the type-aware set
// needs the whole program type-checked once more and was too slow to run on every commit, and
// `npm run typecheck` already runs the compiler's own checks.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/**
 * Deep imports into a folder that shows one face. `repository/<room>/` and `storage/drivers/<driver>/`
 * are imported through their `index.js` only; files directly in `repository/` or `storage/drivers/`
 * are faces of their own. `testing/` folders hold helpers for tests, not rooms, and stay reachable.
 */
const DEEP_REPOSITORY = {
  regex: '(^|/)repository/(?!testing/)[^/]+/(?!index\\.js$).+',
  message: 'Import a repository room through its index.js, not one of its inner files.',
};
const DEEP_STORAGE_DRIVER = {
  regex: '(^|/)drivers/(?!testing/)[^/]+/(?!index\\.js$).+',
  message: 'Import a storage driver through its index.js, not one of its inner files.',
};
const restrictImports = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default defineConfig(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'native/build/',
      'coverage/',
      '.test-results/',
      'bench/results/',
      'demo-data/',
      '.cache/',
      'test/fixtures/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Unused names are errors, as in tsconfig; a leading underscore marks one that is unused on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrors: 'none',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // Off: errors are re-thrown on purpose without their cause, to keep a secret (a URL with a token,
      // a password in a driver message) out of the new error, or to turn a library error into a
      // LifeboatError with a code and a hint. The rule cannot tell such a rewrap from a lost cause.
      'preserve-caught-error': 'off',
      'no-var': 'error',
      'prefer-const': 'error',
    },
  },
  {
    // The rooms are closed to the rest of src/. Tests under test/ may reach inner files: fault tests
    // damage a repository or a driver from the inside on purpose.
    files: ['src/**'],
    languageOptions: { globals: globals.node },
    rules: restrictImports(DEEP_REPOSITORY, DEEP_STORAGE_DRIVER),
  },
  {
    files: ['src/repository/**'],
    rules: restrictImports(DEEP_STORAGE_DRIVER),
  },
  {
    files: ['src/storage/drivers/**'],
    rules: restrictImports(DEEP_REPOSITORY),
  },
  {
    files: ['test/**/*.ts', '**/*.test.ts'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['web/**/*.{ts,tsx}'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: [
      'scripts/**/*.mjs',
      'bench/**/*.mjs',
      'test/**/*.mjs',
      'src/**/*.mjs',
      '*.js',
      '*.config.ts',
      'web/vite.config.ts',
    ],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      // A CommonJS file has its own module scope: `const crypto = require('node:crypto')` shadows
      // the global of the same name rather than redeclaring it.
      'no-redeclare': ['error', { builtinGlobals: false }],
    },
  },
  prettier,
);
