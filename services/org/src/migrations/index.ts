import type { ServiceMigrations } from '@foundation/db';
import { ORG_SCHEMA } from '../entities.js';
import { InitialOrgSchema } from './0001-initial.js';

export const orgMigrations: ServiceMigrations = {
  schema: ORG_SCHEMA,
  migrations: [{ name: '0001-initial', class: InitialOrgSchema }],
};
