import { authMigrations } from '@foundation/auth';
import { brainMigrations } from '@foundation/brain';
import type { ServiceMigrations } from '@foundation/db';
import { orgMigrations } from '@foundation/org';
import { secretsMigrations } from '@foundation/secrets';
import { sessionMigrations } from '@foundation/session';
import { workflowMigrations } from '@foundation/workflow';

/** Every service schema, in the order they are migrated. */
export const ALL_SERVICE_MIGRATIONS: ServiceMigrations[] = [authMigrations, orgMigrations, secretsMigrations, workflowMigrations, sessionMigrations, brainMigrations];
