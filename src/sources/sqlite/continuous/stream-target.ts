import type { LifeboatConfig, RepositoryConfig } from '../../../config/schema.js';
import type { SourceConfigOf } from '../../../config/source-schemas.js';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';

export interface ContinuousSource {
  name: string;
  config: SourceConfigOf<'sqlite'>;
}

/** The sqlite sources with `continuous`, or the one named (which must be a sqlite source with `continuous`). */
export function continuousSources(config: LifeboatConfig, only?: string): ContinuousSource[] {
  const all = Object.entries(config.sources ?? {});
  if (only !== undefined) {
    const found = all.find(([n]) => n === only);
    if (!found)
      throw new LifeboatError(ErrorCode.Usage, `no source named "${only}" in the config`, {
        hint: `configured: ${all.map(([n]) => n).join(', ') || 'none'}`,
      });
    const [, source] = found;
    if (source.type !== 'sqlite')
      throw new LifeboatError(
        ErrorCode.Usage,
        `source "${only}" is a ${source.type} source; continuous protection is for sqlite sources`,
      );
    if (!source.continuous)
      throw new LifeboatError(ErrorCode.Usage, `source "${only}" has no \`continuous\` settings`, {
        hint: 'add `continuous: { interval: 1s, snapshot_every: 6h, retention: 24h }` to the source',
      });
    return [{ name: only, config: source }];
  }
  return all.flatMap(([name, source]) =>
    source.type === 'sqlite' && source.continuous ? [{ name, config: source }] : [],
  );
}

/**
 * The repository that receives a source's stream: its `continuous.to`, else
 * the `to` of the one job that backs the source up, else the only configured
 * repository.
 */
export function streamRepository(
  config: LifeboatConfig,
  source: ContinuousSource,
): { name: string; settings: RepositoryConfig } {
  const repos = config.repositories ?? {};
  const pick = (name: string, why: string) => {
    const settings = repos[name];
    if (!settings)
      throw new LifeboatError(ErrorCode.Config, `${why} names repository "${name}", which is not configured`, {
        hint: `configured: ${Object.keys(repos).join(', ') || 'none'}`,
      });
    return { name, settings };
  };
  if (source.config.continuous?.to) return pick(source.config.continuous.to, `sources.${source.name}.continuous.to`);
  const targets = new Set(
    Object.values(config.jobs ?? {})
      .filter((j) => j.to && (j.sources === 'all' || j.sources?.includes(source.name)))
      .map((j) => j.to!),
  );
  if (targets.size === 1) return pick([...targets][0]!, 'the job backing this source up');
  const names = Object.keys(repos);
  if (targets.size === 0 && names.length === 1) return pick(names[0]!, 'the config');
  throw new LifeboatError(
    ErrorCode.Config,
    `which repository receives the stream of source "${source.name}" is not clear`,
    { hint: `set sources.${source.name}.continuous.to to one of: ${names.join(', ') || '(no repository configured)'}` },
  );
}
