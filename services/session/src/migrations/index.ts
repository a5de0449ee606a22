import type { ServiceMigrations } from '@foundation/db';
import { InitialSessionSchema } from './0001-initial.js';
import { ToolAgentSessions } from './0002-tool-agent-sessions.js';
import { TurnFunctions } from './0003-turn-functions.js';

export const SESSION_SCHEMA = 'session';

export const sessionMigrations: ServiceMigrations = {
  schema: SESSION_SCHEMA,
  migrations: [
    { name: '0001-initial', class: InitialSessionSchema },
    { name: '0002-tool-agent-sessions', class: ToolAgentSessions },
    { name: '0003-turn-functions', class: TurnFunctions },
  ],
};
