import { Code } from '@connectrpc/connect';
import { Session_State, TurnCompleted_Status, type WatchSessionResponse } from '@foundation/contracts';
import { expectRpcError, invalidFieldOf } from '@foundation/testing';
import { expect } from 'chai';
import { completed, EXECUTOR_ID, message, pendingSession, started, startSessionBench, taskEvents, taskOfTurn, type SessionBench } from './session-fixtures.js';

describe('Session events', () => {
  let bench: SessionBench;
  before(async () => {
    bench = await startSessionBench();
  });
  after(() => bench?.close());

  const record = (taskId: string, events: ReturnType<typeof taskEvents>) =>
    bench.sink.recordTaskEvents({ orgId: bench.orgA.orgId, taskId, events }, bench.asBrain);

  /** Reads a watch stream in the background; `until(n)` waits for n responses. */
  function watch(sessionId: string, afterSeq = 0n) {
    const received: WatchSessionResponse[] = [];
    const abort = new AbortController();
    const waiters: (() => void)[] = [];
    const done = (async () => {
      for await (const res of bench.sessions.watchSession({ sessionId, afterSeq }, { ...bench.orgA.as, signal: abort.signal })) {
        received.push(res);
        waiters.splice(0).forEach((w) => w());
      }
    })();
    const until = async (n: number) => {
      while (received.length < n) await Promise.race([new Promise<void>((r) => waiters.push(r)), done]);
    };
    return { received, done, until, abort: () => abort.abort() };
  }

  describe('ListSessionEvents()', () => {
    it('pages through the events in order, saying whether more follow', async () => {
      const { session, taskId } = await pendingSession(bench);
      await record(taskId, taskEvents(1, Array.from({ length: 250 }, (_, i) => message(`m${i + 1}`))));
      const seqs: bigint[] = [];
      let afterSeq = 0n;
      let pages = 0;
      for (;;) {
        const res = await bench.sessions.listSessionEvents({ sessionId: session.id, afterSeq }, bench.orgA.as);
        pages++;
        seqs.push(...res.events.map((e) => e.seq));
        if (!res.more) break;
        afterSeq = res.events.at(-1)!.seq;
      }
      expect(pages).to.equal(3);
      expect(seqs).to.deep.equal(Array.from({ length: 250 }, (_, i) => BigInt(i + 1)));
      const small = await bench.sessions.listSessionEvents({ sessionId: session.id, afterSeq: 248n, pageSize: 2 }, bench.orgA.as);
      expect(small.events.map((e) => e.seq)).to.deep.equal([249n, 250n]);
      expect(small.more).to.equal(false);
    });

    it('refuses a page size outside 0 to 1000', async () => {
      const { session } = await pendingSession(bench);
      for (const pageSize of [-1, 1001]) {
        const error = await expectRpcError(bench.sessions.listSessionEvents({ sessionId: session.id, pageSize }, bench.orgA.as), Code.InvalidArgument, 'INVALID_FIELD');
        expect(invalidFieldOf(error)).to.equal('page_size');
      }
      const big = await bench.sessions.listSessionEvents({ sessionId: session.id, pageSize: 1000 }, bench.orgA.as);
      expect(big.events).to.deep.equal([]);
    });
  });

  describe('WatchSession()', () => {
    it('replays the stored events, then follows new ones live, and ends with the session', async () => {
      const { session, taskId } = await pendingSession(bench);
      await bench.sink.recordTaskAssigned({ orgId: bench.orgA.orgId, taskId, executorId: EXECUTOR_ID }, bench.asBrain);
      await record(taskId, taskEvents(1, [started('thread-1'), message('one')]));
      const watcher = watch(session.id);
      await watcher.until(2);
      await record(taskId, taskEvents(3, [message('two')]));
      await watcher.until(3);
      await record(taskId, taskEvents(4, [completed(TurnCompleted_Status.FAILED, 'exited with code 2')]));
      await watcher.done;
      expect(watcher.received.map((r) => [Number(r.event!.seq), Session_State[r.state]])).to.deep.equal([
        [1, 'RUNNING'],
        [2, 'RUNNING'],
        [3, 'RUNNING'],
        [4, 'FAILED'],
      ]);
    });

    it('resumes after a seq, and ends at once for an ended session with nothing after it', async () => {
      const { session, taskId } = await pendingSession(bench);
      await record(taskId, taskEvents(1, [message('one'), message('two'), completed(TurnCompleted_Status.CANCELLED)]));
      const resumed = watch(session.id, 1n);
      await resumed.done;
      expect(resumed.received.map((r) => [Number(r.event!.seq), Session_State[r.state]])).to.deep.equal([
        [2, 'RUNNING'],
        [3, 'CANCELLED'],
      ]);
      const atEnd = watch(session.id, 3n);
      await atEnd.done;
      expect(atEnd.received).to.deep.equal([]);
    });

    it('stays open while the session is IDLE and follows the next turn', async () => {
      // Not assigned to a node, so the next turn may go to any node and the brain keeps it pending.
      const { session, taskId } = await pendingSession(bench);
      const watcher = watch(session.id);
      await record(taskId, taskEvents(1, [started('thread-1'), completed(TurnCompleted_Status.SUCCESS)]));
      await watcher.until(2);
      expect(Session_State[watcher.received[1]!.state]).to.equal('IDLE');
      await bench.sessions.sendMessage({ sessionId: session.id, text: 'next' }, bench.orgA.as);
      const second = await taskOfTurn(bench, session.id, 2);
      await record(second, taskEvents(1, [message('again')]));
      await watcher.until(3);
      expect(watcher.received[2]!.event!.turn).to.equal(2);
      await bench.sessions.cancelSession({ sessionId: session.id }, bench.orgA.as);
      await watcher.done;
      // The brain ends the cancelled turn with its TurnCompleted, after the events the session service stored.
      expect(watcher.received.map((r) => r.event!.event!.kind.case)).to.deep.equal(['sessionStarted', 'turnCompleted', 'message', 'turnCompleted']);
    });

    it('gives a live watcher the events exactly as a replay reads them, also where storage replaced characters', async () => {
      const { session, taskId } = await pendingSession(bench);
      const watcher = watch(session.id);
      await record(taskId, taskEvents(1, [started('thread-1')]));
      await watcher.until(1);
      await record(taskId, taskEvents(2, [message('bin\u0000ary'), message('two')]));
      await watcher.until(3);
      await record(taskId, taskEvents(4, [message('three'), completed(TurnCompleted_Status.SUCCESS)]));
      await watcher.until(5);
      watcher.abort();
      const replay = await bench.sessions.listSessionEvents({ sessionId: session.id }, bench.orgA.as);
      expect(replay.events.map((e) => (e.event!.kind.case === 'message' ? e.event!.kind.value.text : ''))).to.deep.equal(['', 'bin\uFFFDary', 'two', 'three', '']);
      expect(watcher.received.map((r) => r.event)).to.deep.equal(replay.events);
    });

    it('ends when an IDLE session is closed', async () => {
      const { session, taskId } = await pendingSession(bench);
      await record(taskId, taskEvents(1, [completed(TurnCompleted_Status.SUCCESS)]));
      const watcher = watch(session.id);
      await watcher.until(1);
      await bench.sessions.closeSession({ sessionId: session.id }, bench.orgA.as);
      await watcher.done;
      expect(watcher.received).to.have.length(1);
    });
  });
});
