import type { ServiceMigrations } from '@foundation/db';
import { InitialBrainSchema } from './0001-initial.js';
import { PendingTaskKinds } from './0002-pending-task-kinds.js';
import { TaskFunctions } from './0003-task-functions.js';
import { RecordSeenFunction } from './0004-record-seen-function.js';

export const BRAIN_SCHEMA = 'brain';

export const brainMigrations: ServiceMigrations = {
  schema: BRAIN_SCHEMA,
  migrations: [
    { name: '0001-initial', class: InitialBrainSchema },
    { name: '0002-pending-task-kinds', class: PendingTaskKinds },
    { name: '0003-task-functions', class: TaskFunctions },
    { name: '0004-record-seen-function', class: RecordSeenFunction },
  ],
};
