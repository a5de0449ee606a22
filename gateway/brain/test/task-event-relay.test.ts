import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { Code, type Client } from '@connectrpc/connect';
import {
  AgentEventSchema,
  TaskEventSchema,
  TaskEventsSchema,
  TurnCompletedSchema,
  type RecordTaskEventsRequest,
  type SessionTaskSinkService,
  type TaskEvents,
} from '@foundation/contracts';
import { createLogger, rpcError } from '@foundation/kit';
import { expect } from 'chai';
import { NodeConnection } from '../src/node-connection.js';
import type { TaskCloser } from '../src/task-closer.js';
import { TaskEventRelay } from '../src/task-event-relay.js';
import type { TaskStore } from '../src/task-store.js';

/** The relay alone, with the task store and the session service replaced by stand-ins. */
describe('TaskEventRelay', () => {
  const taskId = randomUUID();
  const leaseToken = randomUUID();
  const messageOf = (firstSeq: number, count: number): TaskEvents =>
    create(TaskEventsSchema, { taskId, leaseToken, events: Array.from({ length: count }, (_, i) => create(TaskEventSchema, { seq: BigInt(firstSeq + i) })) });

  const silent = createLogger({ level: 'silent', target: 'brain' });
  const newConnection = () => new NodeConnection({ orgId: randomUUID(), executorId: randomUUID() } as never, randomUUID(), [], 1, async () => {});
  /** A session service that stores everything, and a store whose task has `lastSeq` recorded; `steps` in the order they happened. */
  const standIns = (lastSeq: number, steps: string[], recordPersisted: () => Promise<boolean> = async () => true) => {
    const sink = {
      recordTaskEvents: async (req: RecordTaskEventsRequest) => {
        steps.push(`stored ${req.events.map((e) => e.seq).join(',')}`);
        return { persistedSeq: req.events[req.events.length - 1]!.seq };
      },
    } as unknown as Client<typeof SessionTaskSinkService>;
    const tasks = {
      held: async () => ({ taskId, lastSeq }),
      recordPersisted: async (_org: string, _executor: string, _lease: unknown, seq: number, completed: boolean) => {
        steps.push(`recordPersisted ${seq}${completed ? ' completed' : ''}`);
        return recordPersisted();
      },
    } as unknown as TaskStore;
    return new TaskEventRelay(tasks, sink, {} as TaskCloser, silent);
  };
  const watchAcks = (connection: NodeConnection, steps: string[]) => {
    const send = connection.send.bind(connection);
    connection.send = (kind) => {
      if (kind.case === 'ack') steps.push(`ack ${kind.value.seq}`);
      send(kind);
    };
  };
  const turnCompletedAt = (seq: number) =>
    create(TaskEventSchema, { seq: BigInt(seq), event: create(AgentEventSchema, { kind: { case: 'turnCompleted', value: create(TurnCompletedSchema, {}) } }) });

  it("acknowledges a task's first events once stored, then writes down that it has some, before the relay returns", async () => {
    const steps: string[] = [];
    const relay = standIns(0, steps);
    const connection = newConnection();
    watchAcks(connection, steps);

    await relay.relay(connection, [messageOf(1, 2)]);

    expect(steps).to.deep.equal(['stored 1,2', 'ack 2', 'recordPersisted 2']);
  });

  it('writes nothing down for later events of a task, and ends a task before acknowledging its TurnCompleted', async () => {
    const steps: string[] = [];
    const relay = standIns(2, steps);
    const connection = newConnection();
    watchAcks(connection, steps);

    await relay.relay(connection, [messageOf(3, 1)]);
    await relay.relay(connection, [create(TaskEventsSchema, { taskId, leaseToken, events: [turnCompletedAt(4)] })]);

    expect(steps).to.deep.equal(['stored 3', 'ack 3', 'stored 4', 'recordPersisted 4 completed', 'ack 4']);
  });

  it("keeps the stream going when writing down a task's first events fails after their Ack", async () => {
    const steps: string[] = [];
    const relay = standIns(0, steps, async () => {
      throw new Error('the database went away');
    });
    const connection = newConnection();
    watchAcks(connection, steps);

    await relay.relay(connection, [messageOf(1, 1)]);

    expect(steps).to.deep.equal(['stored 1', 'ack 1', 'recordPersisted 1']);
    expect(connection.outbox.ended).to.equal(false);
  });

  it('splits a merged request the session service refuses as too large, keeping the order, and acknowledges once', async () => {
    const requests: bigint[][] = [];
    const sink = {
      recordTaskEvents: async (req: RecordTaskEventsRequest) => {
        requests.push(req.events.map((e) => e.seq));
        if (req.events.length > 2) throw rpcError(Code.ResourceExhausted, 'REQUEST_TOO_LARGE', 'the request message is too large');
        return { persistedSeq: req.events[req.events.length - 1]!.seq };
      },
    } as unknown as Client<typeof SessionTaskSinkService>;
    const tasks = {
      held: async () => ({ taskId, lastSeq: 0 }),
      recordPersisted: async () => true,
    } as unknown as TaskStore;
    const relay = new TaskEventRelay(tasks, sink, {} as TaskCloser, createLogger({ level: 'silent', target: 'brain' }));
    const connection = new NodeConnection({ orgId: randomUUID(), executorId: randomUUID() } as never, randomUUID(), [], 1, async () => {});

    await relay.relay(connection, [messageOf(1, 2), messageOf(3, 3)]);

    expect(requests.filter((r) => r.length <= 2).flat()).to.deep.equal([1n, 2n, 3n, 4n, 5n]);
    connection.outbox.end();
    const sent = [];
    for await (const response of connection.outbox) sent.push(response);
    expect(sent.map((r) => (r.kind.case === 'ack' ? Number(r.kind.value.seq) : r.kind.case))).to.deep.equal([5]);
  });
});
