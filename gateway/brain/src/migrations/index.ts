import type { ServiceMigrations } from '@foundation/db';
import { InitialBrainSchema } from './0001-initial.js';

export const BRAIN_SCHEMA = 'brain';

export const brainMigrations: ServiceMigrations = {
  schema: BRAIN_SCHEMA,
  migrations: [{ name: '0001-initial', class: InitialBrainSchema }],
};
