export { createOrgModule } from './module.js';
export type { OrgModuleOptions } from './module.js';
export { orgMigrations } from './migrations/index.js';
