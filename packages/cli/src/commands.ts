import type { Logger } from '@foundation/kit';
import type { FoundationConfig } from './config.js';
import { migrate, prepareDatabase, prepareInfrastructure } from './infrastructure.js';
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
