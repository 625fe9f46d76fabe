/**
 * The sweep's remover for a container a killed docker backup left stopped or
 * paused: "removing" the hold means starting or unpausing the container again.
 *
 * @module
 */

import { gone, kept, removed, shellWord, type Removal, type RemovalContext } from '../../leftovers/removal.js';
import type { ResourceOf } from '../../leftovers/resource.js';
import { EngineApiError, engineApi } from './engine-api.js';

export async function releaseHeldContainer(
  r: ResourceOf<'held-container'>,
  _source: string | null,
  ctx: RemovalContext,
): Promise<Removal> {
  const verb = r.action === 'paused' ? 'unpause' : 'start';
  const api = engineApi(r.socket);
  try {
    const { State } = await api.get<{ State: { Status: string } }>(`/containers/${r.id}/json`);
    // Given back already (by hand, or by a restart policy).
    if (r.action === 'paused' ? State.Status !== 'paused' : State.Status === 'running' || State.Status === 'paused')
      return gone;
    if (ctx.dryRun) return removed;
    await api.post(`/containers/${r.id}/${verb}`);
    ctx.log(`container ${r.name}: ${r.action === 'paused' ? 'unpaused' : 'started'} again`);
    return removed;
  } catch (err) {
    // 404: the container was removed since; 304: started meanwhile.
    if (err instanceof EngineApiError && (err.status === 304 || err.status === 404)) return gone;
    return kept((err as Error).message, `docker ${verb} ${shellWord(r.name)}`);
  }
}
