export { createMetaModule } from './module.js';
export type { PlatformVersion } from './meta-service.js';
