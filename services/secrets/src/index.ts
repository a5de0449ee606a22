export { createSecretsModule } from './module.js';
export type { SecretsModuleOptions } from './module.js';
export { secretsMigrations } from './migrations/index.js';
export { decodeMasterKey, ensureKeyringFile, MASTER_KEY_FORMAT } from './keyring-file.js';
export type { MasterKeySource } from './master-keyring.js';
export { rotateMasterKey } from './master-key-rotation.js';
export type { MasterKeyRotationOptions, MasterKeyRotationReport } from './master-key-rotation.js';
