import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import {
  AgentEventSchema,
  AgentMessageSchema,
  TaskSchema,
  TurnCompleted_Status,
  TurnCompletedSchema,
  type AgentEvent,
  type TaskEvent,
} from '@foundation/contracts';
import type { EngineId } from '@foundation/agent-engines';
import { expect } from 'chai';
import { pino } from 'pino';
import type { EngineAdapter, EngineTurn } from '../src/engines/engine.js';
import { EventOutbox } from '../src/event-outbox.js';
import { TaskRunner, type TaskRejection } from '../src/task-runner.js';

const message = (text: string): AgentEvent => create(AgentEventSchema, { kind: { case: 'message', value: create(AgentMessageSchema, { text }) } });
const completed = (status: TurnCompleted_Status): AgentEvent =>
  create(AgentEventSchema, { kind: { case: 'turnCompleted', value: create(TurnCompletedSchema, { status }) } });

/** An engine whose turn is a test function. */
function fakeAdapter(id: EngineId, runTurn: (turn: EngineTurn, emit: (event: AgentEvent) => void) => Promise<void>): EngineAdapter {
  return { id, executable: 'fake', version: async () => '1.0', runTurn };
}

/** Emits until cancelled, then reports CANCELLED, as the adapters do. */
const untilCancelled = async (turn: EngineTurn, emit: (event: AgentEvent) => void) => {
  emit(message('working'));
  await new Promise((resolve) => turn.signal.addEventListener('abort', resolve, { once: true }));
  emit(completed(TurnCompleted_Status.CANCELLED));
};

describe('TaskRunner', () => {
  let dir: string;
  let outbox: EventOutbox;
  let rejections: TaskRejection[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'task-runner-'));
    rejections = [];
  });

  afterEach(async () => {
    outbox.close();
    await rm(dir, { recursive: true, force: true });
  });

  function runner(adapter: EngineAdapter['runTurn'], options: { capacity?: number; maxBytesPerTask?: number } = {}): TaskRunner {
    outbox = EventOutbox.open({ dir: join(dir, 'outbox'), maxBytesPerTask: options.maxBytesPerTask ?? 1024 * 1024 });
    return new TaskRunner({
      capacity: options.capacity ?? 2,
      workspaceRoot: join(dir, 'workspaces'),
      adapters: new Map([['gateway.codex.v2', fakeAdapter('gateway.codex.v2', adapter)]]),
      installedEngines: new Set(['gateway.codex.v2']),
      outbox,
      toolBridge: () => ({ command: { name: 'foundation', command: 'true', args: [], env: {} }, release: () => undefined }),
      reject: (rejection) => rejections.push(rejection),
      onChange: () => undefined,
      log: pino({ level: 'silent' }),
    });
  }

  function assign(tasks: TaskRunner, taskId: string, workspace = taskId): void {
    tasks.assign(create(TaskSchema, { taskId, leaseToken: `lease-${taskId}`, engine: 'gateway.codex.v2', workspace, prompt: 'p' }));
  }

  function sentEvents(): Map<string, TaskEvent[]> {
    const byTask = new Map<string, TaskEvent[]>();
    for (let batch = outbox.takeNextBatch(); batch !== undefined; batch = outbox.takeNextBatch()) {
      byTask.set(batch.taskId, [...(byTask.get(batch.taskId) ?? []), ...batch.events]);
    }
    return byTask;
  }

  const lastOf = (events: TaskEvent[] | undefined) => {
    const kind = events?.at(-1)?.event?.kind;
    return kind?.case === 'turnCompleted' ? kind.value : undefined;
  };

  async function settled(tasks: TaskRunner): Promise<void> {
    while (tasks.runningCount > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  it('rejects a task past its capacity as retryable and runs the others', async () => {
    const tasks = runner(untilCancelled, { capacity: 1 });
    assign(tasks, 't1');
    assign(tasks, 't2');
    expect(rejections).to.deep.equal([{ taskId: 't2', leaseToken: 'lease-t2', reason: 'the node is at capacity (1 tasks)', retryable: true }]);
    tasks.cancel('t1', 'cancelled by a user');
    await settled(tasks);
    expect(lastOf(sentEvents().get('t1'))?.status).to.equal(TurnCompleted_Status.CANCELLED);
  });

  it('rejects an engine that is not installed here as retryable, an invalid task id as not', () => {
    const tasks = runner(untilCancelled);
    tasks.assign(create(TaskSchema, { taskId: 't1', leaseToken: 'l', engine: 'gateway.claude.v2', workspace: 'w', prompt: 'p' }));
    tasks.assign(create(TaskSchema, { taskId: 't2', leaseToken: 'l', engine: 'gateway.hosted.v1', workspace: 'w', prompt: 'p' }));
    tasks.assign(create(TaskSchema, { taskId: '../etc', leaseToken: 'l', engine: 'gateway.codex.v2', workspace: 'w', prompt: 'p' }));
    expect(rejections.map((r) => [r.taskId, r.retryable])).to.deep.equal([
      ['t1', true],
      ['t2', true],
      ['../etc', false],
    ]);
  });

  it('fails the turn loudly when its unacknowledged events pass the bound, and stops the engine', async () => {
    let stopped = false;
    const tasks = runner(
      async (turn, emit) => {
        for (let i = 0; i < 1000 && !turn.signal.aborted; i += 1) emit(message('x'.repeat(1000)));
        stopped = turn.signal.aborted;
        emit(completed(TurnCompleted_Status.CANCELLED));
      },
      { maxBytesPerTask: 64 * 1024 },
    );
    assign(tasks, 't1');
    await settled(tasks);
    const events = sentEvents().get('t1')!;
    expect(stopped).to.equal(true);
    expect(events.length).to.be.below(100);
    expect(lastOf(events)?.status).to.equal(TurnCompleted_Status.FAILED);
    expect(lastOf(events)?.reason).to.contain('event buffer for this task is full');
    expect(events.filter((event) => event.event?.kind.case === 'turnCompleted')).to.have.length(1);
  });

  it('ends a turn whose adapter throws, and keeps serving other tasks', async () => {
    const tasks = runner(async (turn, emit) => {
      if (turn.cwd.endsWith('bad')) throw new Error('boom');
      emit(message('fine'));
      emit(completed(TurnCompleted_Status.SUCCESS));
    });
    assign(tasks, 'bad');
    assign(tasks, 'good');
    await settled(tasks);
    const events = sentEvents();
    expect(lastOf(events.get('bad'))?.reason).to.equal('the engine adapter failed: boom');
    expect(lastOf(events.get('good'))?.status).to.equal(TurnCompleted_Status.SUCCESS);
  });

  it('ends a turn whose adapter returns without a TurnCompleted, and ignores events after one', async () => {
    const tasks = runner(async (turn, emit) => {
      emit(message('m'));
      if (turn.cwd.endsWith('twice')) {
        emit(completed(TurnCompleted_Status.SUCCESS));
        emit(message('late'));
        emit(completed(TurnCompleted_Status.FAILED));
      }
    });
    assign(tasks, 'silent');
    assign(tasks, 'twice');
    await settled(tasks);
    const events = sentEvents();
    expect(lastOf(events.get('silent'))?.reason).to.equal('the engine adapter ended the turn without reporting its result');
    expect(events.get('twice')!.map((event) => event.event?.kind.case)).to.deep.equal(['message', 'turnCompleted']);
    expect(lastOf(events.get('twice'))?.status).to.equal(TurnCompleted_Status.SUCCESS);
  });

  it('reports the turns a shutdown stopped as failed by the node, not cancelled by a user', async () => {
    const tasks = runner(untilCancelled);
    assign(tasks, 't1');
    await new Promise((resolve) => setTimeout(resolve, 20));
    await tasks.stopAll();
    const last = lastOf(sentEvents().get('t1'));
    expect(last?.status).to.equal(TurnCompleted_Status.FAILED);
    expect(last?.reason).to.equal('the node-agent was stopped during the turn');
  });

  it('lists the running tasks’ leases for the heartbeat', async () => {
    const tasks = runner(untilCancelled);
    assign(tasks, 't1');
    expect(tasks.runningLeases().map((lease) => [lease.taskId, lease.leaseToken])).to.deep.equal([['t1', 'lease-t1']]);
    await tasks.stopAll();
    expect(tasks.runningLeases()).to.deep.equal([]);
  });

  it('ignores an assignment of a task it already holds', async () => {
    let turns = 0;
    const tasks = runner(async (turn, emit) => {
      turns += 1;
      await untilCancelled(turn, emit);
    });
    assign(tasks, 't1');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assign(tasks, 't1');
    await tasks.stopAll();
    expect(turns).to.equal(1);
    expect(rejections).to.deep.equal([]);
  });
});
