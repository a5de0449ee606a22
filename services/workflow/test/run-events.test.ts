import { timestampMs } from '@bufbuild/protobuf/wkt';
import { Code } from '@connectrpc/connect';
import { RunStatus, type RunEvent } from '@foundation/contracts';
import { expectRpcError, invalidFieldOf, withDatabase, type PlatformClients } from '@foundation/testing';
import { expect } from 'chai';
import { v7 as uuidv7 } from 'uuid';
import {
  chainSpec,
  delayNode,
  eventOf,
  eventTrail,
  FAIL_FAST,
  listAllEvents,
  publishedWorkflow,
  startRunBench,
  transformNode,
  TWO_TRANSFORMS,
  watchToEnd,
  watchUntil,
  type RunBench,
} from './workflow-fixtures.js';

/** seq of each event. */
const seqs = (events: RunEvent[]) => events.map((e) => Number(e.seq));
/** 1, 2, …, n. */
const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('RunService: events', () => {
  let bench: RunBench;
  before(async () => (bench = await startRunBench()));
  after(() => bench?.close());
  const runs = () => bench.platform.grpc.runs;

  /** Starts a run of `json` and returns its id without waiting for it. */
  async function startRun(json = chainSpec([delayNode('wait', '600ms'), transformNode('done', '"done"')])) {
    const workflow = await publishedWorkflow(bench.platform.grpc, json, bench.asAdmin());
    const { run } = await runs().startRun({ workflowId: workflow.id, inputs: json === TWO_TRANSFORMS ? { n: 1 } : {} }, bench.asMember());
    return run!.id;
  }

  describe('ListRunEvents()', () => {
    let runId: string;
    before(async () => {
      runId = await startRun(TWO_TRANSFORMS);
      await watchToEnd(bench.platform.grpc, runId, bench.asMember());
    });

    it('pages with after_seq and page_size, saying whether more follow', async () => {
      const page = async (afterSeq: number, pageSize: number) => {
        const { events, hasMore } = await runs().listRunEvents({ runId, afterSeq: BigInt(afterSeq), pageSize }, bench.asMember());
        return { seqs: seqs(events), hasMore };
      };
      expect(await page(0, 3)).to.deep.equal({ seqs: [1, 2, 3], hasMore: true });
      expect(await page(3, 3)).to.deep.equal({ seqs: [4, 5, 6], hasMore: true });
      expect(await page(6, 3)).to.deep.equal({ seqs: [7], hasMore: false });
      expect(await page(5, 2)).to.deep.equal({ seqs: [6, 7], hasMore: false });
      expect(await page(7, 3)).to.deep.equal({ seqs: [], hasMore: false });
      expect(await page(0, 0)).to.deep.equal({ seqs: oneTo(7), hasMore: false });
      expect(await page(0, 1000)).to.deep.equal({ seqs: oneTo(7), hasMore: false });
    });

    it('refuses a page size over 1000 and a negative after_seq', async () => {
      const big = await expectRpcError(runs().listRunEvents({ runId, pageSize: 1001 }, bench.asMember()), Code.InvalidArgument, 'INVALID_FIELD');
      expect(invalidFieldOf(big)).to.equal('page_size');
      const negative = await expectRpcError(runs().listRunEvents({ runId, afterSeq: -1n }, bench.asMember()), Code.InvalidArgument, 'INVALID_FIELD');
      expect(invalidFieldOf(negative)).to.equal('after_seq');
      await expectRpcError(runs().listRunEvents({ runId: uuidv7() }, bench.asMember()), Code.NotFound, 'NOT_FOUND');
    });
  });

  describe('WatchRun()', () => {
    /** Watches over `clients` from the run's start; checks the stream delivered every stored event once, in order. */
    async function expectWholeRun(clients: PlatformClients, runId: string) {
      const opened = Date.now();
      const watched = await watchToEnd(clients, runId, bench.asMember());
      const { run } = await runs().getRun({ runId }, bench.asMember());
      // The watch began while the run was under way, so most of it arrived live.
      expect(timestampMs(run!.endTime!)).to.be.above(opened);
      expect(seqs(watched)).to.deep.equal(oneTo(watched.length));
      expect(eventTrail(watched).at(-1)).to.equal('run.succeeded');
      expect(eventTrail(watched)).to.deep.equal(eventTrail(await listAllEvents(bench.platform.grpc, runId, bench.asMember())));
    }

    it('streams every event of a live run once and in order, and ends after the terminal event', async () => {
      await expectWholeRun(bench.platform.grpc, await startRun());
    });

    it('gives each of many watchers at once the whole course of its run, up to its end', async () => {
      // Parallel branches that fail fast end a run with reports milliseconds apart; the ordering of the
      // end against a watcher's reads is pinned down in run-watch.test.ts.
      const workflow = await publishedWorkflow(bench.platform.grpc, FAIL_FAST, bench.asAdmin());
      const watches = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const { run } = await runs().startRun({ workflowId: workflow.id }, bench.asMember());
          return { runId: run!.id, watched: await watchToEnd(bench.platform.grpc, run!.id, bench.asMember()) };
        }),
      );
      for (const { runId, watched } of watches) {
        const stored = await listAllEvents(bench.platform.grpc, runId, bench.asMember());
        expect(eventTrail(watched), runId).to.deep.equal(eventTrail(stored));
        expect(eventTrail(watched).at(-1)).to.equal('run.failed');
      }
    });

    it('does the same over the Connect protocol', async () => {
      await expectWholeRun(bench.platform.connect, await startRun());
    });

    it('resumes after after_seq: exactly the events that follow it', async () => {
      const runId = await startRun();
      const seen = await watchUntil(bench.platform.grpc, runId, bench.asMember(), (e) => e.type === 'node.started');
      const k = seen.length;
      const { run } = await runs().getRun({ runId }, bench.asMember());
      expect(run!.status).to.equal(RunStatus.RUNNING);
      const rest = await watchToEnd(bench.platform.grpc, runId, bench.asMember(), BigInt(k));
      const all = await listAllEvents(bench.platform.grpc, runId, bench.asMember());
      expect(seqs(rest)).to.deep.equal(oneTo(all.length).slice(k));
      expect(eventTrail([...seen, ...rest])).to.deep.equal(eventTrail(all));
    });

    it('replays a finished run and ends, also from its middle and from its end', async () => {
      const runId = await startRun(TWO_TRANSFORMS);
      const live = await watchToEnd(bench.platform.grpc, runId, bench.asMember());
      for (const clients of [bench.platform.grpc, bench.platform.connect]) {
        expect(seqs(await watchToEnd(clients, runId, bench.asMember()))).to.deep.equal(seqs(live));
        expect(seqs(await watchToEnd(clients, runId, bench.asMember(), 4n))).to.deep.equal([5, 6, 7]);
        expect(await watchToEnd(clients, runId, bench.asMember(), 7n)).to.deep.equal([]);
      }
    });

    it('refuses a negative after_seq and an unknown run', async () => {
      const runId = await startRun(TWO_TRANSFORMS);
      const error = await expectRpcError(watchToEnd(bench.platform.grpc, runId, bench.asMember(), -1n), Code.InvalidArgument, 'INVALID_FIELD');
      expect(invalidFieldOf(error)).to.equal('after_seq');
      await expectRpcError(watchToEnd(bench.platform.grpc, uuidv7(), bench.asMember()), Code.NotFound, 'NOT_FOUND');
    });
  });

  describe('payload size', () => {
    it('truncates an oversized node.succeeded payload in the event log, while the next node gets the whole output', async () => {
      const json = chainSpec([transformNode('big', '$pad("", 70000, "x")'), transformNode('measure', '$length(nodes.big.output)')]);
      const { run, events } = await bench.runToEnd(json);
      expect(run.status).to.equal(RunStatus.SUCCEEDED);
      const payload = eventOf(events, 'node.succeeded', 'big').payload!;
      expect(payload).to.include({ truncated: true });
      expect(payload['bytes']).to.equal(Buffer.byteLength(JSON.stringify({ output: 'x'.repeat(70_000) })));
      expect(payload['preview']).to.be.a('string').that.satisfies((p: string) => p.startsWith('{"output":"xxx'));
      expect((payload['preview'] as string).length).to.be.below(1024);
      expect(eventOf(events, 'node.succeeded', 'measure').payload).to.deep.equal({ output: 70_000 });
      // The checkpoint keeps the whole output, so a resumed run's downstream nodes see it too.
      const stored = await withDatabase(bench.platform, 'superuser', async (db) => {
        const { rows } = await db.query(`select length(output #>> '{}') as length from workflow.workflow_run_nodes where run_id = $1 and node_id = 'big'`, [run.id]);
        return rows[0].length as number;
      });
      expect(stored).to.equal(70_000);
    });

    it('cuts the preview between characters, never inside one', async () => {
      // The preview is the first 512 characters of the payload's JSON; `{"output":"` is 11 of them, so the
      // 501st character of the output straddles the cut: here an emoji (two UTF-16 code units).
      const text = `${'x'.repeat(500)}${'😀'.repeat(20_000)}`;
      const json = chainSpec([transformNode('big', 'inputs.text')], { inputs: [{ name: 'text', type: 'string', required: true }] });
      const { run, events } = await bench.runToEnd(json, { text });
      expect(run.status, JSON.stringify(run.error)).to.equal(RunStatus.SUCCEEDED);
      const preview = eventOf(events, 'node.succeeded', 'big').payload!['preview'] as string;
      expect(preview).to.equal(`{"output":"${'x'.repeat(500)}`);
    });
  });
});
