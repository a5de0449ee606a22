import type { ServiceMigrations } from '@foundation/db';
import { InitialWorkflowSchema } from './0001-initial.js';
import { ClaimRunFunction } from './0002-claim-run-function.js';
import { ReportProgressFunction } from './0003-report-progress-function.js';
import { RunTenantFunctions } from './0004-run-tenant-functions.js';
import { RunLookupsById } from './0005-run-lookups-by-id.js';
import { RunsByStatus } from './0006-runs-by-status.js';

export const WORKFLOW_SCHEMA = 'workflow';

export const workflowMigrations: ServiceMigrations = {
  schema: WORKFLOW_SCHEMA,
  migrations: [
    { name: '0001-initial', class: InitialWorkflowSchema },
    { name: '0002-claim-run-function', class: ClaimRunFunction },
    { name: '0003-report-progress-function', class: ReportProgressFunction },
    { name: '0004-run-tenant-functions', class: RunTenantFunctions },
    { name: '0005-run-lookups-by-id', class: RunLookupsById },
    { name: '0006-runs-by-status', class: RunsByStatus },
  ],
};
