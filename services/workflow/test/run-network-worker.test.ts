import { AgentRunService, RunProgressService, RunStatus, SecretsService } from '@foundation/contracts';
import { createBuiltinCatalog } from '@foundation/connectors';
import { createExecutionModule } from '@foundation/execution';
import { createLogger, createServiceClient, ServiceTokenIssuer, type ServiceModule } from '@foundation/kit';
import type { WorkflowSpecJson } from '@foundation/workflow-dsl';
import { expect } from 'chai';
import { eventOf, publishedWorkflow, startLongRun, startRunBench, transformNode, watchToEnd, type RunBench } from './workflow-fixtures.js';

const BRANCHES = ['a', 'b', 'c', 'd', 'e'];

/** Five parallel nodes with outputs of 900 KB each, then a node that reads them all. */
const LARGE_PARALLEL_OUTPUTS: WorkflowSpecJson = {
  nodes: [
    { id: 'start', type: 'trigger.manual' },
    ...BRANCHES.map((id) => transformNode(id, '$pad("", 900000, "x")')),
    transformNode('total', `$sum([${BRANCHES.map((id) => `$length(nodes.${id}.output)`).join(', ')}])`),
  ],
  edges: [...BRANCHES.map((id) => ({ from: 'start', to: id })), ...BRANCHES.map((id) => ({ from: id, to: 'total' }))],
};

// The platform's own worker reports in memory; a worker of its own process reports over the network,
// where the workflow service's request size limit (FOUNDATION_READ_MAX_BYTES) applies.
describe('A worker reporting over the network', () => {
  let bench: RunBench;
  let worker: ServiceModule | undefined;
  const workerLog: string[] = [];
  before(async () => {
    bench = await startRunBench({ FOUNDATION_WORKER_CONCURRENCY: '1' });
    // The platform's worker is kept busy, so the runs below go to the network worker.
    await startLongRun(bench);
    const identity = new ServiceTokenIssuer(bench.platform.serviceKey, 'execution');
    const location = { baseUrl: bench.platform.baseUrl };
    worker = await createExecutionModule({
      worker: { redisUrl: bench.platform.redis.url, concurrency: 1, leaseMs: 30_000, stalledIntervalMs: 15_000 },
      catalog: createBuiltinCatalog(),
      connectors: { policy: { allowLoopback: true, allowPrivate: false, allowedHosts: [] }, timeoutMs: 30_000, maxResponseBytes: 1 << 20, maxRedirects: 5, baseUrls: {} },
      progress: createServiceClient(RunProgressService, location, identity),
      secrets: createServiceClient(SecretsService, location, identity),
      agentRuns: createServiceClient(AgentRunService, location, identity),
      log: createLogger({ level: 'info', target: 'worker', destination: { write: (line: string) => void workerLog.push(line) } }),
    });
    worker.start?.();
  });
  after(async () => {
    await worker?.close?.();
    await bench?.close();
  });

  it('reports parallel nodes with large outputs in requests the service accepts', async () => {
    const workflow = await publishedWorkflow(bench.platform.grpc, LARGE_PARALLEL_OUTPUTS, bench.asAdmin());
    const { run } = await bench.platform.grpc.runs.startRun({ workflowId: workflow.id }, bench.asMember());
    const events = await watchToEnd(bench.platform.grpc, run!.id, bench.asMember());
    const { run: ended } = await bench.platform.grpc.runs.getRun({ runId: run!.id }, bench.asMember());
    expect(ended!.status, JSON.stringify(ended!.error)).to.equal(RunStatus.SUCCEEDED);
    expect(ended!.attempt).to.equal(1);
    expect(eventOf(events, 'node.succeeded', 'total').payload).to.deep.equal({ output: 5 * 900_000 });
    expect(workerLog.filter((line) => line.includes('giving the run up'))).to.deep.equal([]);
    expect(bench.platform.logLines.filter((line) => line.includes('resource_exhausted'))).to.deep.equal([]);
  });
});
