export { createExecutionModule, type ExecutionModuleOptions } from './module.js';
export type { ConnectorLimits } from '@foundation/connectors';
