import { ConfigError, type Logger } from '@foundation/kit';
import { rotateMasterKey } from '@foundation/secrets';
import type { FoundationConfig } from './config.js';
import { migrate, prepareDatabase, prepareInfrastructure } from './infrastructure.js';
import { keyringFileToRotate } from './master-key-source.js';
import { PLATFORM_VERSION } from './platform-version.js';
import { buildTargets, parseTargets } from './targets.js';

/** `foundation start`: infrastructure, migrations, the targets; runs until SIGINT or SIGTERM. */
export async function runStart(config: FoundationConfig, targetText: string, log: Logger): Promise<number> {
  const targets = parseTargets(targetText);
  const infrastructure = await prepareInfrastructure(config, log);
  let running;
  try {
    running = await buildTargets(config, targets, infrastructure, log);
  } catch (e) {
    await infrastructure.stop();
    throw e;
  }
  const address = await running.server.listen(config.FOUNDATION_PORT, config.FOUNDATION_HOST);
  const base = `http://${address.address}:${address.port}`;
  process.stderr.write(
    [
      `Foundation ${PLATFORM_VERSION.version} is running (services: ${running.modules.map((m) => m.name).join(', ')})`,
      `  API (gRPC, gRPC-Web, Connect):  ${base}`,
      `  Try it:   curl -s -X POST -H 'content-type: application/json' -d '{}' ${base}/foundation.meta.v1.MetaService/GetVersion`,
      `  Health:   ${base}/healthz   Ready: ${base}/readyz   Metrics: ${base}/metrics`,
      ...infrastructure.description.map((line) => `  ${line}`),
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  log.info({ address: base }, 'listening');
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'shutting down');
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await running.close();
  await infrastructure.stop();
  log.info('stopped');
  return 0;
}

/** `foundation migrate`: applies pending migrations to DATABASE_URL, or to the embedded database. */
export async function runMigrate(config: FoundationConfig, log: Logger): Promise<number> {
  const stops: (() => Promise<void>)[] = [];
  try {
    const database = await prepareDatabase(config, log, stops, []);
    await migrate(database, log);
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
  return 0;
}

/**
 * `foundation secrets rotate-master-key`: a new active master key in the keyring file and every org's data
 * key re-wrapped with it, as the schema owner (DATABASE_URL, or the embedded database while `start` is not
 * running). Services may keep running. Exits 1 when a data key could not be re-wrapped.
 */
export async function runRotateMasterKey(config: FoundationConfig, log: Logger): Promise<number> {
  const keyringFile = keyringFileToRotate(config);
  const stops: (() => Promise<void>)[] = [];
  try {
    const ownerUrl = config.DATABASE_URL ?? (await prepareDatabase(config, log, stops, [])).ownerUrl;
    if (!ownerUrl) throw new ConfigError('rotating the master key connects as the schema owner: set DATABASE_URL');
    const report = await rotateMasterKey({ ownerUrl, keyringFile, progress: (line) => console.log(line) });
    return report.failed === 0 ? 0 : 1;
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}
