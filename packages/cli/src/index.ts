export { buildTargets, parseTargets, TARGETS } from './targets.js';
export type { RunningTargets, Target } from './targets.js';
export { readConfig, configSchema } from './config.js';
export type { FoundationConfig } from './config.js';
export { startRedisServer, RedisServerMissingError } from './redis-server-process.js';
export type { RedisServerProcess } from './redis-server-process.js';
export { ALL_SERVICE_MIGRATIONS } from './service-migrations.js';
