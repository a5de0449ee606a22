import type { ServiceMigrations } from '@foundation/db';
import { SECRETS_SCHEMA } from '../entities.js';
import { InitialSecretsSchema } from './0001-initial.js';

export const secretsMigrations: ServiceMigrations = {
  schema: SECRETS_SCHEMA,
  migrations: [{ name: '0001-initial', class: InitialSecretsSchema }],
};
