import type { Client } from '@connectrpc/connect';
import type { AgentRunService, RunProgressService, SecretsService } from '@foundation/contracts';
import type { ConnectorCatalog, ConnectorLimits } from '@foundation/connectors';
import type { Logger, ServiceModule } from '@foundation/kit';
import { CompiledWorkflowCache } from '@foundation/workflow-dsl';
import { AgentRunNode } from './agent-run-node.js';
import { CancelListener } from './cancel-listener.js';
import { NodeExecutors } from './node-executors.js';
import { RunWorker, type RunWorkerOptions } from './run-worker.js';

export interface ExecutionModuleOptions {
  worker: RunWorkerOptions;
  catalog: ConnectorCatalog;
  connectors: ConnectorLimits;
  /** The workflow service's internal run API, called as "execution". */
  progress: Client<typeof RunProgressService>;
  /** For ResolveSecret, called as "execution". */
  secrets: Client<typeof SecretsService>;
  /** The session service's internal API for `agent.run` nodes, called as "execution". */
  agentRuns: Client<typeof AgentRunService>;
  log: Logger;
}

/**
 * The workflow worker (target `worker`): takes runs from the queue and executes them. It serves no RPC and
 * owns no table: it reads runs through their claims and writes only through progress reports.
 */
export async function createExecutionModule(options: ExecutionModuleOptions): Promise<ServiceModule> {
  const cancels = new CancelListener(options.worker.redisUrl);
  await cancels.connect();
  const worker = new RunWorker(
    options.worker,
    {
      executors: new NodeExecutors(options.catalog, options.secrets, options.connectors, new AgentRunNode(options.agentRuns)),
      progress: options.progress,
      cancels,
      log: options.log,
      heartbeatMs: Math.floor(options.worker.leaseMs / 3),
      compiled: new CompiledWorkflowCache(),
    },
    options.log,
  );
  return {
    name: 'worker',
    serviceNames: [],
    registerRpc: () => undefined,
    start: () => worker.start(),
    close: async () => {
      await worker.close();
      cancels.close();
    },
  };
}
