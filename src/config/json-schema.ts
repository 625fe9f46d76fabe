import { z } from 'zod';
import { configSchema } from './schema.js';

/** The JSON Schema of lifeboat.yaml, for editors (yaml-language-server) and other tools. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { target: 'draft-2020-12', io: 'input' }),
    $id: 'https://lifeboat.dev/schema/lifeboat.yaml.json',
    title: 'lifeboat.yaml',
  };
}
