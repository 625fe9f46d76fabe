import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../../config/json-schema.js';
import { sourceSchema } from '../../config/source-schemas.js';

describe('docker source configuration', () => {
  it('accepts volumes, containers, stop, stop_timeout and socket, and needs volumes or containers', () => {
    const full = {
      type: 'docker',
      volumes: ['shop_db', 'shop_*'],
      containers: ['shop-worker'],
      stop: 'pause',
      stop_timeout: '45s',
      socket: '/run/podman/podman.sock',
    };
    expect(sourceSchema.safeParse(full).success).toBe(true);
    const none = sourceSchema.safeParse({ type: 'docker', stop: 'stop' });
    expect(none.success).toBe(false);
    expect(none.error!.issues[0]!.message).toContain('needs `volumes:` or `containers:`');
    expect(sourceSchema.safeParse({ type: 'docker', volumes: ['a'], stop: 'freeze' }).success).toBe(false);
    expect(sourceSchema.safeParse({ type: 'docker', volumes: [] }).success).toBe(false);
    expect(sourceSchema.safeParse({ type: 'docker', volumes: ['a'], typo: 1 }).success).toBe(false);
  });

  it('is described in the JSON Schema of lifeboat.yaml', () => {
    const text = JSON.stringify(configJsonSchema());
    expect(text).toContain('"docker"');
    expect(text).toContain('the Docker Engine API unix socket');
    expect(text).toContain('"pause"');
  });
});
