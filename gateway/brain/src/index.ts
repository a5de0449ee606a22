export { brainMigrations, BRAIN_SCHEMA } from './migrations/index.js';
export { createBrainModule, type BrainModuleOptions } from './module.js';
