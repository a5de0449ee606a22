import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { Code, type Client } from '@connectrpc/connect';
import { TaskEventSchema, TaskEventsSchema, type RecordTaskEventsRequest, type SessionTaskSinkService, type TaskEvents } from '@foundation/contracts';
import { createLogger, rpcError } from '@foundation/kit';
import { expect } from 'chai';
import { NodeConnection } from '../src/node-connection.js';
import type { TaskCloser } from '../src/task-closer.js';
import { TaskEventRelay } from '../src/task-event-relay.js';
import type { TaskStore } from '../src/task-store.js';

/** The relay alone, with the session service replaced by one that refuses requests of more than 2 events as too large. */
describe('TaskEventRelay', () => {
  const taskId = randomUUID();
  const leaseToken = randomUUID();
  const messageOf = (firstSeq: number, count: number): TaskEvents =>
    create(TaskEventsSchema, { taskId, leaseToken, events: Array.from({ length: count }, (_, i) => create(TaskEventSchema, { seq: BigInt(firstSeq + i) })) });

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
