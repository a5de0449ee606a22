import { createClient, createRouterTransport, type Interceptor } from '@connectrpc/connect';
import { RunService } from '@foundation/contracts';
import type { EventFeed } from '@foundation/event-feed';
import { tenantKey } from '@foundation/kit';
import { expect } from 'chai';
import { v7 as uuidv7 } from 'uuid';
import type { RunEventRecord } from '../src/run-event-log.js';
import type { RunRecord, RunStatus } from '../src/run-record.js';
import { RunServiceImpl } from '../src/run-service.js';
import type { RunStarter } from '../src/run-starter.js';
import type { RunStore } from '../src/run-store.js';
import type { WorkerSignals } from '../src/worker-signals.js';

const ORG_ID = uuidv7();
const RUN_ID = uuidv7();

/**
 * A run's stored state, changed by the test at chosen moments: what RunStore reads (events after a seq,
 * the run's status), and the feed's wake-up calls. Only what WatchRun uses.
 */
class ScriptedRun {
  events: RunEventRecord[] = [];
  status: RunStatus = 'running';
  reads = 0;
  /** Called after each events read with its number (1, 2, …): the moment to change the run. */
  afterRead: (read: number) => void = () => undefined;
  #listeners = new Set<() => void>();

  append(type: string, nodeId = ''): void {
    const seq = this.events.length + 1;
    this.events.push({ runId: RUN_ID, seq, type, nodeId, attempt: nodeId ? 1 : 0, payload: {}, time: new Date() });
  }

  readonly store = {
    events: async (_orgId: string, _runId: string, afterSeq: number, limit: number) => {
      const found = this.events.filter((e) => e.seq > afterSeq).slice(0, limit);
      this.afterRead(++this.reads);
      return found;
    },
    get: async () => ({ id: RUN_ID, orgId: ORG_ID, status: this.status, lastSeq: this.events.length }) as RunRecord,
  };

  readonly feed = {
    subscribe: (_runId: string, listener: () => void) => {
      this.#listeners.add(listener);
      return { ready: Promise.resolve(), unsubscribe: () => this.#listeners.delete(listener) };
    },
  };

  notify(): void {
    for (const listener of this.#listeners) listener();
  }
}

/** RunService over an in-memory transport, serving `run` to a member of ORG_ID. */
function runServiceOver(run: ScriptedRun) {
  const asMember: Interceptor = (next) => (req) => {
    req.contextValues.set(tenantKey, { orgId: ORG_ID, role: 'member' });
    return next(req);
  };
  const impl = new RunServiceImpl(run.store as unknown as RunStore, {} as RunStarter, run.feed as unknown as EventFeed, {} as WorkerSignals);
  return createClient(RunService, createRouterTransport((router) => router.service(RunService, impl), { router: { interceptors: [asMember] } }));
}

describe('RunService: WatchRun() against a run that changes between reads', () => {
  it('still delivers the last events when the run ends between reading its events and its status', async () => {
    const run = new ScriptedRun();
    for (const type of ['run.queued', 'run.started', 'node.started']) run.append(type, type === 'node.started' ? 'a' : '');
    run.afterRead = (read) => {
      // Read 1 finds the first events; a notification wakes the watcher for read 2, which finds nothing
      // new, and right after it the run's end commits, its last events with its status.
      if (read === 1) setTimeout(() => run.notify(), 10);
      if (read === 2) {
        run.append('node.succeeded', 'a');
        run.append('run.succeeded');
        run.status = 'succeeded';
      }
    };
    const watched: string[] = [];
    for await (const { event } of runServiceOver(run).watchRun({ runId: RUN_ID }, { timeoutMs: 5_000 })) watched.push(event!.type);
    expect(watched).to.deep.equal(['run.queued', 'run.started', 'node.started', 'node.succeeded', 'run.succeeded']);
  });

  it('ends at once for a finished run watched from past its end', async () => {
    const run = new ScriptedRun();
    for (const type of ['run.queued', 'run.started', 'run.cancelled']) run.append(type);
    run.status = 'cancelled';
    const watched: string[] = [];
    for await (const { event } of runServiceOver(run).watchRun({ runId: RUN_ID, afterSeq: 3n }, { timeoutMs: 5_000 })) watched.push(event!.type);
    expect(watched).to.deep.equal([]);
  });
});
