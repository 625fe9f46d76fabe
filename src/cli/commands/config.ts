import type { Command } from 'commander';
import { configJsonSchema } from '../../config/json-schema.js';
import { loadConfig } from '../../config/load.js';
import { locateConfig, defaultConfigCandidates } from '../../config/locate.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import type { ActionFactory } from '../action.js';
import type { CommandContext } from '../context.js';

export function registerConfig(program: Command, action: ActionFactory): void {
  const config = program.command('config').description('check the configuration file or print its schema');

  config
    .command('validate')
    .description('validate lifeboat.yaml: every problem with its file and line')
    .argument(
      '[file]',
      'the file to check (default: --config, $LIFEBOAT_CONFIG, ./lifeboat.yaml, /etc/lifeboat/lifeboat.yaml)',
    )
    .action(
      action(async (ctx: CommandContext, file: string | undefined) => {
        // Nothing to stop cleanly, and validating holds the event loop (a handler would only run once it
        // is done): SIGINT and SIGTERM get their default action and end the process at once.
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.removeAllListeners(signal);
        const found = locateConfig(file ?? ctx.global.config);
        if (!found)
          throw new LifeboatError(ErrorCode.Config, 'no configuration file found', {
            hint: `looked in ${defaultConfigCandidates().join(', ')}; create one with \`lifeboat init --config-template\``,
          });
        const { config: c } = loadConfig(found);
        const count = (o: object | undefined) => Object.keys(o ?? {}).length;
        ctx.out.emit({
          type: 'config',
          file: found,
          valid: true,
          repositories: count(c.repositories),
          sources: count(c.sources),
          jobs: count(c.jobs),
        });
        ctx.out.result(
          `${found} is valid: ${count(c.repositories)} repositories, ${count(c.sources)} sources, ${count(c.jobs)} jobs`,
        );
      }),
    );

  config
    .command('schema')
    .description('print the JSON Schema of lifeboat.yaml (for editors)')
    .action(
      action(async () => {
        process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
      }),
    );
}
