import type { SourceType } from '../config/source-schemas.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { SourceDriver } from './contract.js';
import { commandSource } from './command/driver.js';
import { redisSource } from './redis/driver.js';
import { victoriaMetricsSource } from './victoriametrics/driver.js';
import { prometheusSource } from './prometheus/driver.js';
import { postgresSource } from './postgres/driver.js';
import { mysqlSource } from './mysql/driver.js';
import { sqliteSource } from './sqlite/driver.js';
import { filesSource } from './files/driver.js';
import { dockerSource } from './docker/driver.js';

/** Every source type's driver, by `type`. */
const DRIVERS: Partial<Record<SourceType, SourceDriver>> = {
  command: commandSource as SourceDriver,
  redis: redisSource as SourceDriver,
  victoriametrics: victoriaMetricsSource as SourceDriver,
  prometheus: prometheusSource as SourceDriver,
  postgres: postgresSource as SourceDriver,
  mysql: mysqlSource as SourceDriver,
  sqlite: sqliteSource as SourceDriver,
  files: filesSource as SourceDriver,
  docker: dockerSource as SourceDriver,
};

export function sourceDriver(type: SourceType): SourceDriver {
  const driver = DRIVERS[type];
  if (!driver)
    throw new LifeboatError(ErrorCode.Config, `source type "${type}" has no driver`, {
      hint: `available: ${Object.keys(DRIVERS).join(', ')}`,
    });
  return driver;
}
