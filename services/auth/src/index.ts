export { createAuthModule } from './module.js';
export type { AuthModule, AuthModuleOptions } from './module.js';
export { authMigrations } from './migrations/index.js';
export { REFRESH_COOKIE } from './refresh-cookie.js';
