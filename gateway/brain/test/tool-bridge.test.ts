import { randomUUID } from 'node:crypto';
import { create, toJson, type JsonObject } from '@bufbuild/protobuf';
import { ValueSchema, type Value } from '@bufbuild/protobuf/wkt';
import { ConnectResponseSchema, ToolCallSchema, type Task, type ToolResult } from '@foundation/contracts';
import { startEffectServer, withDatabase, type EffectServer, type SimulatedNode } from '@foundation/testing';
import { expect } from 'chai';
import { startBrainBench, taskRequest, type BrainBench } from './brain-fixtures.js';

const SECRET_VALUE = 'xoxb-very-secret-token-1234';

describe('Tool bridge (ToolCall over the stream)', () => {
  let bench: BrainBench;
  let api: EffectServer;
  let node: SimulatedNode;
  let task: Task;
  before(async () => {
    bench = await startBrainBench({ FOUNDATION_CONNECTOR_ALLOW_LOOPBACK: 'true' });
    api = await startEffectServer();
    await bench.platform.grpc.secrets.createSecret({ name: 'api-token', value: SECRET_VALUE }, bench.asAdmin());
    const paired = await bench.pair();
    node = bench.connect({ credential: paired.credential, heartbeatEveryMs: 100 });
    await node.next('welcome');
    await bench.startTask(taskRequest(bench.a.org.id, { toolBridge: true }));
    task = (await node.next('assignTask')).task!;
    node.running.set(task.taskId, task.leaseToken);
  });
  after(async () => {
    await api?.close();
    await bench?.close();
  });

  /** Sends a tool call for the held task and waits for its result. */
  const call = async (tool: string, args: JsonObject, lease = task.leaseToken): Promise<ToolResult> => {
    const callId = randomUUID();
    node.send({ case: 'toolCall', value: create(ToolCallSchema, { taskId: task.taskId, leaseToken: lease, callId, tool, arguments: args as JsonObject }) });
    return node.next('toolResult', (r) => r.callId === callId, 10_000);
  };

  it('runs connector_action server-side with the org’s secret, which never reaches the node', async () => {
    const result = await call('connector_action', {
      action: 'http.request',
      input: { method: 'POST', url: `${api.url}/hook`, body: { json: { text: 'hello' } }, auth: { kind: 'bearer' } },
      secret: 'api-token',
    });
    expect(result.outcome.case).to.equal('result');
    const output = toJson(ValueSchema, result.outcome.value as Value) as { status: number; body: unknown };
    expect(output.status).to.equal(200);
    expect(output.body).to.deep.include({ ok: true, path: '/hook' });
    const delivery = await api.nextDelivery('/hook');
    expect(delivery.headers.authorization).to.equal(`Bearer ${SECRET_VALUE}`);
    expect(node.received.map((r) => JSON.stringify(toJson(ConnectResponseSchema, r))).join('\n')).not.to.include(SECRET_VALUE);
    expect(bench.platform.logLines.join('\n')).not.to.include(SECRET_VALUE);
    // The resolution is audited against the task.
    const audits = await withDatabase(bench.platform, 'superuser', (sql) => sql.query('select * from secrets.secret_resolutions where run_id = $1', [task.taskId]));
    expect(audits.rows).to.have.length.greaterThan(0);
  });

  it('answers a secret the org does not have with NOT_FOUND', async () => {
    const result = await call('connector_action', { action: 'http.request', input: { method: 'GET', url: `${api.url}/x`, auth: { kind: 'bearer' } }, secret: 'nope' });
    expect(result.outcome.case).to.equal('error');
    expect(result.outcome.value).to.deep.include({ reason: 'NOT_FOUND' });
  });

  it('answers bad arguments with INVALID_FIELD and connector failures with their reason', async () => {
    const noAction = await call('connector_action', { input: {} });
    expect(noAction.outcome.value).to.deep.include({ reason: 'INVALID_FIELD' });
    const unknown = await call('connector_action', { action: 'fax.send', input: {} });
    expect(unknown.outcome.value).to.deep.include({ reason: 'UNKNOWN_ACTION' });
    const badInput = await call('connector_action', { action: 'http.request', input: { method: 'BREW' } });
    expect(badInput.outcome.value).to.deep.include({ reason: 'CONNECTOR_INPUT_INVALID' });
  });

  it('answers agent_execute without an engine with INVALID_FIELD (agent-execute.test.ts runs it)', async () => {
    const result = await call('agent_execute', { prompt: 'x' });
    expect(result.outcome.value).to.deep.include({ reason: 'INVALID_FIELD' });
    expect((result.outcome.value as { message: string }).message).to.match(/^arguments\.engine/);
  });

  it('refuses a call under a lease token the node does not hold with TASK_NOT_HELD', async () => {
    const result = await call('connector_action', { action: 'http.request', input: {} }, randomUUID());
    expect(result.outcome.value).to.deep.include({ reason: 'TASK_NOT_HELD' });
  });
});
