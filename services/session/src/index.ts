export { sessionMigrations, SESSION_SCHEMA } from './migrations/index.js';
export { createSessionModule, type SessionModuleOptions } from './module.js';
