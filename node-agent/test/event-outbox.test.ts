import { mkdtemp, readdir, readFile, rm, stat, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { AgentEventSchema, AgentMessageSchema, TurnCompleted_Status, TurnCompletedSchema, type AgentEvent } from '@foundation/contracts';
import { expect } from 'chai';
import { MAX_EVENTS_PER_MESSAGE } from '@foundation/agent-engines';
import { EventOutbox } from '../src/event-outbox.js';

function message(text: string): AgentEvent {
  return create(AgentEventSchema, { kind: { case: 'message', value: create(AgentMessageSchema, { text }) } });
}

function completed(): AgentEvent {
  return create(AgentEventSchema, { kind: { case: 'turnCompleted', value: create(TurnCompletedSchema, { status: TurnCompleted_Status.SUCCESS }) } });
}

function drain(outbox: EventOutbox): Array<{ taskId: string; seqs: number[] }> {
  const batches: Array<{ taskId: string; seqs: number[] }> = [];
  for (let batch = outbox.takeNextBatch(); batch !== undefined; batch = outbox.takeNextBatch()) {
    batches.push({ taskId: batch.taskId, seqs: batch.events.map((event) => Number(event.seq)) });
  }
  return batches;
}

describe('EventOutbox', () => {
  let dir: string;
  const open = (maxBytesPerTask = 64 * 1024 * 1024) => EventOutbox.open({ dir, maxBytesPerTask });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'event-outbox-'));
  });

  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('numbers each task’s events 1, 2, 3 and writes them to disk before they can be sent', async () => {
    const outbox = open();
    outbox.begin('task-a', 'lease-a');
    outbox.begin('task-b', 'lease-b');
    expect(outbox.append('task-a', message('a1'))).to.equal(1n);
    expect(outbox.append('task-b', message('b1'))).to.equal(1n);
    expect(outbox.append('task-a', message('a2'))).to.equal(2n);
    const lines = (await readFile(join(dir, 'task-a', 'events.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line).seq)).to.deep.equal(['1', '2']);
    expect((await stat(join(dir, 'task-a', 'events.jsonl'))).mode & 0o777).to.equal(0o600);
    expect(drain(outbox)).to.deep.equal([
      { taskId: 'task-a', seqs: [1, 2] },
      { taskId: 'task-b', seqs: [1] },
    ]);
    outbox.close();
  });

  it('sends at most 256 events per message, in order', () => {
    const outbox = open();
    outbox.begin('task-a', 'lease-a');
    for (let i = 0; i < 600; i += 1) outbox.append('task-a', message(`m${i}`));
    const batches = drain(outbox);
    expect(batches.map((batch) => batch.seqs.length)).to.deep.equal([MAX_EVENTS_PER_MESSAGE, MAX_EVENTS_PER_MESSAGE, 88]);
    expect(batches.flatMap((batch) => batch.seqs)).to.deep.equal(Array.from({ length: 600 }, (_, i) => i + 1));
    outbox.close();
  });

  it('takes the tasks in turn, so a busy one cannot hold back the others', () => {
    const outbox = open();
    outbox.begin('busy', 'lease-busy');
    outbox.begin('quiet', 'lease-quiet');
    for (let i = 0; i < 600; i += 1) outbox.append('busy', message(`m${i}`));
    outbox.append('quiet', message('q'));
    expect(drain(outbox).map((batch) => batch.taskId)).to.deep.equal(['busy', 'quiet', 'busy', 'busy']);
    outbox.close();
  });

  it('drops acknowledged events and resends the rest after a reconnect', () => {
    const outbox = open();
    outbox.begin('task-a', 'lease-a');
    for (let i = 0; i < 5; i += 1) outbox.append('task-a', message(`m${i}`));
    drain(outbox);
    outbox.ack('task-a', 3n);
    expect(outbox.takeNextBatch()).to.equal(undefined);
    outbox.rewind();
    expect(drain(outbox)).to.deep.equal([{ taskId: 'task-a', seqs: [4, 5] }]);
    expect(outbox.heldTasks()).to.deep.equal([{ taskId: 'task-a', leaseToken: 'lease-a', lastSeq: 5n, running: true }]);
    outbox.close();
  });

  it('forgets a finished task once every event is acknowledged', async () => {
    const outbox = open();
    outbox.begin('task-a', 'lease-a');
    outbox.append('task-a', message('m'));
    outbox.append('task-a', completed());
    expect(outbox.heldTasks()[0]?.running).to.equal(false);
    outbox.ack('task-a', 1n);
    expect(outbox.has('task-a')).to.equal(true);
    outbox.ack('task-a', 2n);
    expect(outbox.has('task-a')).to.equal(false);
    expect(await readdir(dir)).to.deep.equal([]);
    outbox.close();
  });

  it('accepts nothing after the TurnCompleted', () => {
    const outbox = open();
    outbox.begin('task-a', 'lease-a');
    outbox.append('task-a', completed());
    expect(outbox.append('task-a', message('late'))).to.equal(undefined);
    outbox.close();
  });

  it('reads back unacknowledged events after a restart, continuing the numbering', () => {
    const first = open();
    first.begin('task-a', 'lease-a');
    for (let i = 0; i < 4; i += 1) first.append('task-a', message(`m${i}`));
    first.ack('task-a', 2n);
    first.close();

    const second = open();
    expect(second.heldTasks()).to.deep.equal([{ taskId: 'task-a', leaseToken: 'lease-a', lastSeq: 4n, running: true }]);
    expect(drain(second)).to.deep.equal([{ taskId: 'task-a', seqs: [3, 4] }]);
    expect(second.append('task-a', message('m4'))).to.equal(5n);
    second.close();
  });

  it('ends a turn the previous daemon left running with TurnCompleted(FAILED) after its buffered events', () => {
    const first = open();
    first.begin('task-a', 'lease-a');
    first.append('task-a', message('m0'));
    first.append('task-a', message('m1'));
    first.close();

    const second = open();
    expect(second.failInterruptedTurns('the node-agent restarted during the turn')).to.deep.equal(['task-a']);
    const batch = second.takeNextBatch()!;
    expect(batch.events.map((event) => Number(event.seq))).to.deep.equal([1, 2, 3]);
    const last = batch.events[2]!.event!.kind;
    expect(last.case).to.equal('turnCompleted');
    if (last.case === 'turnCompleted') {
      expect(last.value.status).to.equal(TurnCompleted_Status.FAILED);
      expect(last.value.reason).to.equal('the node-agent restarted during the turn');
    }
    expect(second.heldTasks()[0]?.running).to.equal(false);
    second.close();
  });

  it('drops a line cut short by a crash mid-write', async () => {
    const first = open();
    first.begin('task-a', 'lease-a');
    first.append('task-a', message('whole'));
    first.close();
    await appendFile(join(dir, 'task-a', 'events.jsonl'), '{"seq":"2","ev');

    const second = open();
    expect(second.heldTasks()[0]?.lastSeq).to.equal(1n);
    expect(second.append('task-a', message('next'))).to.equal(2n);
    second.close();
    const lines = (await readFile(join(dir, 'task-a', 'events.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.map((line) => JSON.parse(line).seq)).to.deep.equal(['1', '2']);
  });

  it('refuses an event past the bound of unacknowledged bytes, but always takes the TurnCompleted', () => {
    const outbox = open(64 * 1024);
    outbox.begin('task-a', 'lease-a');
    const big = 'x'.repeat(10_000);
    let accepted = 0;
    while (outbox.append('task-a', message(big)) !== undefined) accepted += 1;
    expect(accepted).to.equal(6);
    expect(outbox.append('task-a', completed())).to.equal(BigInt(accepted + 1));
    outbox.close();
  });

  it('makes room again as events are acknowledged', () => {
    const outbox = open(64 * 1024);
    outbox.begin('task-a', 'lease-a');
    const big = 'x'.repeat(10_000);
    while (outbox.append('task-a', message(big)) !== undefined);
    outbox.ack('task-a', 6n);
    expect(outbox.append('task-a', message(big))).to.equal(7n);
    outbox.close();
  });

  it('replaces an event too large for one stream message by a truncated raw event', () => {
    const outbox = open();
    outbox.begin('task-a', 'lease-a');
    outbox.append('task-a', message('y'.repeat(5 * 1024 * 1024)));
    const kind = outbox.takeNextBatch()!.events[0]!.event!.kind;
    expect(kind.case).to.equal('raw');
    if (kind.case === 'raw') {
      expect(kind.value.truncated).to.equal(true);
      expect(kind.value.line.length).to.equal(64 * 1024);
    }
    outbox.close();
  });

  it('compacts its file once much of it is acknowledged', async () => {
    const outbox = open();
    outbox.begin('task-a', 'lease-a');
    const chunk = 'z'.repeat(100_000);
    for (let i = 0; i < 15; i += 1) outbox.append('task-a', message(chunk));
    outbox.ack('task-a', 14n);
    const size = (await stat(join(dir, 'task-a', 'events.jsonl'))).size;
    expect(size).to.be.below(150_000);
    outbox.close();
    const reopened = open();
    expect(drain(reopened)).to.deep.equal([{ taskId: 'task-a', seqs: [15] }]);
    reopened.close();
  });

  it('lets doctor see held tasks without touching the files', () => {
    const outbox = open();
    outbox.begin('task-a', 'lease-a');
    outbox.append('task-a', message('m'));
    outbox.close();
    expect(EventOutbox.peekHeldTasks(dir)).to.deep.equal([{ taskId: 'task-a', leaseToken: 'lease-a', lastSeq: 1n, running: true }]);
  });
});
