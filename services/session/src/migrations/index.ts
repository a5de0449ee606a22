import type { ServiceMigrations } from '@foundation/db';
import { InitialSessionSchema } from './0001-initial.js';

export const SESSION_SCHEMA = 'session';

export const sessionMigrations: ServiceMigrations = {
  schema: SESSION_SCHEMA,
  migrations: [{ name: '0001-initial', class: InitialSessionSchema }],
};
