import type { FastifyInstance } from 'fastify';
import type { RepositoryList } from '../api-types.js';
import type { DaemonContext } from '../context.js';

// 3-2-1-1-0: three copies, two media, one offsite, one immutable or offline, zero errors on read-back.
const RULE_321 = new Set(['copies', 'media', 'offsite', 'immutable', 'errors']);

/**
 * `GET /api/v1/repositories`: each configured repository by name (never its
 * URL) with its space, whether it is connected, whether it is removable, the
 * sources it holds (snapshot count, newest) and, per source, the 3-2-1 checks
 * of the last compliance evaluation.
 */
export function repositoryRoutes(app: FastifyInstance, d: DaemonContext): void {
  app.get('/api/v1/repositories', async (): Promise<RepositoryList> => {
    const [space, catalog] = await Promise.all([d.storage.get(), d.snapshots.get()]);
    const compliance = d.compliance() ?? [];
    return {
      repositories: Object.entries(d.loaded.config.repositories ?? {}).map(([name, settings]) => {
        const s = space.find((x) => x.repository === name);
        const c = catalog.find((x) => x.name === name);
        const held = new Map<string, { snapshots: number; newest: string }>();
        for (const snap of c?.snapshots ?? []) {
          const key = snap.source ?? '';
          const h = held.get(key);
          if (!h) held.set(key, { snapshots: 1, newest: snap.time });
          else {
            h.snapshots++;
            if (snap.time > h.newest) h.newest = snap.time;
          }
        }
        return {
          name,
          removable: Boolean(settings.require_mount),
          connected: s?.connected ?? false,
          reachable: c?.reachable ?? false,
          used_bytes: s?.usedBytes ?? null,
          available_bytes: s?.availableBytes ?? null,
          total_bytes: s?.totalBytes ?? null,
          sources: [...held]
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([source, h]) => ({
              source: source || null,
              snapshots: h.snapshots,
              newest: h.newest,
              compliance_321: compliance
                .filter((x) => x.source === source && RULE_321.has(x.check))
                .map((x) => ({ check: x.check, status: x.status, reason: d.redact(x.reason) })),
            })),
        };
      }),
    };
  });
}
