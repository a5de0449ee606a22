import type { ServiceMigrations } from '@foundation/db';
import { AUTH_SCHEMA } from '../records.js';
import { InitialAuthSchema } from './0001-initial.js';

export const authMigrations: ServiceMigrations = {
  schema: AUTH_SCHEMA,
  migrations: [{ name: '0001-initial', class: InitialAuthSchema }],
};
