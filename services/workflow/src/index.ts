export { workflowMigrations, WORKFLOW_SCHEMA } from './migrations/index.js';
export { createWorkflowModule, type WorkflowModuleOptions } from './module.js';
