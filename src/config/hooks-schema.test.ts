import { describe, expect, it } from 'vitest';
import { hooksSchema } from './hooks-schema.js';
import { configJsonSchema } from './json-schema.js';
import { configSchema } from './schema.js';

/** The `hooks:` key: what it accepts, what it refuses, and that the JSON Schema for editors has it. */
describe('hooks in lifeboat.yaml', () => {
  it('accepts strings and argv arrays in the four phases, and a duration', () => {
    const hooks = {
      before: ['systemctl stop app', ['/usr/bin/docker', 'compose', 'stop']],
      after: ['echo done'],
      on_error: [['/usr/local/bin/page', 'backup failed']],
      finally: ['systemctl start app'],
      timeout: '2m',
    };
    expect(hooksSchema.parse(hooks)).toEqual(hooks);
    const config = configSchema.parse({
      version: 1,
      sources: { db: { type: 'sqlite', path: '/srv/app.db', hooks: { before: ['true'] } } },
      jobs: { nightly: { sources: ['db'], hooks: { finally: ['true'] } } },
    });
    expect(config.jobs!.nightly!.hooks).toEqual({ finally: ['true'] });
  });

  it('refuses unknown keys, empty lists and commands, non-lists, and a timeout that is not a duration', () => {
    for (const bad of [
      { bfore: ['true'] },
      { before: 'true' },
      { before: [] },
      { before: [''] },
      { before: [[]] },
      { before: [['sh', 3]] },
      { timeout: '5 minutes' },
    ])
      expect(hooksSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
  });

  it('is in the JSON Schema of sources and jobs', () => {
    const text = JSON.stringify(configJsonSchema());
    expect(text).toContain('"on_error"');
    expect(text).toContain('run in order last, whatever happened');
    const schema = configJsonSchema() as { properties: { jobs: { additionalProperties: { properties: object } } } };
    expect(Object.keys(schema.properties.jobs.additionalProperties.properties)).toContain('hooks');
  });
});
