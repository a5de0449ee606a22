import { createGrpcTransport } from '@connectrpc/connect-node';
import { RunStatus } from '@foundation/contracts';
import { findFreePort } from '@foundation/db';
import { clientsOver, inOrg, orgWithRoles, startEffectServer, type EffectServer, type PlatformClients } from '@foundation/testing';
import type { NodeJson, WorkflowSpecJson } from '@foundation/workflow-dsl';
import { expect } from 'chai';
import { eventTrail, publishedWorkflow, runToEnd } from '../services/workflow/test/workflow-fixtures.js';
import { startExternalInfrastructure, type ExternalInfrastructure } from './support/external-infrastructure.js';
import { FoundationProcess } from './support/foundation-process.js';

/** Short leases, so a dead worker's run is taken over within seconds. */
const FAST_RECOVERY = {
  FOUNDATION_RUN_LEASE: '2s',
  FOUNDATION_WORKER_STALLED_INTERVAL: '500ms',
  FOUNDATION_RECONCILE_INTERVAL: '1s',
  FOUNDATION_MIGRATE_ON_START: 'false',
};

/** Three calls to a third-party API, each with a key that stays the same across retries and recoveries. */
function threeCalls(api: string): WorkflowSpecJson {
  const call = (step: string): NodeJson => ({
    id: step,
    type: 'connector.action',
    config: {
      connector: 'http',
      action: 'request',
      params: { method: 'POST', url: `${api}/${step}`, headers: { 'Idempotency-Key': `{{ run.id }}-${step}` }, body: { json: { step } } },
    },
    retry: { maxAttempts: 3, initialBackoff: '100ms' },
  });
  return {
    nodes: [{ id: 'start', type: 'trigger.manual' }, call('first'), call('second'), call('third')],
    edges: [
      { from: 'start', to: 'first' },
      { from: 'first', to: 'second' },
      { from: 'second', to: 'third' },
    ],
  };
}

describe('Worker recovery: a worker killed mid-run (kill -9) is replaced by another that finishes the run', () => {
  let infrastructure: ExternalInfrastructure;
  let api: EffectServer;
  let services: FoundationProcess;
  let servicesUrl: string;
  let clients: PlatformClients;
  const workers: FoundationProcess[] = [];

  const startWorker = () => {
    const worker = new FoundationProcess(['start', '--target=worker'], {
      ...infrastructure.env,
      ...FAST_RECOVERY,
      FOUNDATION_PORT: '0',
      FOUNDATION_WORKER_CONCURRENCY: '1',
      FOUNDATION_CONNECTOR_ALLOW_LOOPBACK: 'true',
      FOUNDATION_AUTH_URL: servicesUrl,
      FOUNDATION_ORG_URL: servicesUrl,
      FOUNDATION_SECRETS_URL: servicesUrl,
      FOUNDATION_WORKFLOW_URL: servicesUrl,
      FOUNDATION_SESSION_URL: servicesUrl,
    });
    workers.push(worker);
    return worker;
  };

  before(async function () {
    this.timeout(120_000);
    infrastructure = await startExternalInfrastructure();
    api = await startEffectServer();
    const port = await findFreePort();
    servicesUrl = `http://127.0.0.1:${port}`;
    services = new FoundationProcess(['start', '--target=auth,org,secrets,workflow'], { ...infrastructure.env, ...FAST_RECOVERY, FOUNDATION_PORT: String(port) });
    await services.waitUntilReady(servicesUrl);
    clients = clientsOver(createGrpcTransport({ baseUrl: servicesUrl }));
  });

  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    console.error(`\n=== services ===\n${services?.describe()}`);
    for (const worker of workers) console.error(`\n=== worker ${worker.pid} ===\n${worker.describe()}`);
  });

  after(async function () {
    this.timeout(60_000);
    await Promise.all([services?.stop(), ...workers.map((w) => w.stop())]);
    await api?.close();
    await infrastructure?.close();
  });

  it('resumes after the last completed node: every side effect happens once and every event is written once', async function () {
    this.timeout(90_000);
    const tenant = await orgWithRoles(clients);
    const asAdmin = inOrg(tenant.admin, tenant.org.id);
    const workflow = await publishedWorkflow(clients, threeCalls(api.url), asAdmin);
    // The second call hangs long enough for the first worker to die while it is under way.
    api.behave('/second', { delayMs: 1_500 });

    const first = startWorker();
    const { run } = await clients.runs.startRun({ workflowId: workflow.id }, asAdmin);
    await api.nextDelivery('/second');
    first.kill('SIGKILL');
    expect((await first.exited).signal).to.equal('SIGKILL');

    startWorker();
    const ended = await runToEnd(clients, run!.id, asAdmin, 60_000);
    expect(ended.status).to.equal(RunStatus.SUCCEEDED);
    expect(ended.attempt).to.equal(2);

    // The first call completed before the kill and was never repeated; the second was delivered again
    // with the same key (one effect); the third ran once.
    expect(api.deliveries.filter((d) => d.path === '/first')).to.have.length(1);
    expect(api.deliveries.filter((d) => d.path === '/second').length).to.be.at.least(2);
    expect(['/first', '/second', '/third'].map((path) => api.effects(path))).to.deep.equal([1, 1, 1]);

    const { events } = await clients.runs.listRunEvents({ runId: run!.id, pageSize: 1000 }, asAdmin);
    expect(events.map((e) => Number(e.seq))).to.deep.equal(events.map((_, i) => i + 1));
    const trail = eventTrail(events);
    expect(trail.filter((t) => t === 'node.succeeded:first')).to.have.length(1);
    expect(trail.filter((t) => t === 'node.succeeded:second')).to.have.length(1);
    expect(trail.filter((t) => t === 'run.started')).to.have.length(2);
    expect(trail.at(-1)).to.equal('run.succeeded');
    // The dead worker's node.started may or may not have reached the service before the kill; either way
    // the attempts of the repeated node are distinct and rising, and the last one is the one that succeeded.
    const secondStarts = events.filter((e) => e.type === 'node.started' && e.nodeId === 'second').map((e) => e.attempt);
    expect(secondStarts).to.deep.equal([...new Set(secondStarts)].sort((a, b) => a - b));
    const secondSucceeded = events.find((e) => e.type === 'node.succeeded' && e.nodeId === 'second');
    expect(secondSucceeded?.attempt).to.equal(secondStarts.at(-1));
  });
});
