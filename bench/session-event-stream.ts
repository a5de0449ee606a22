import { create, toBinary } from '@bufbuild/protobuf';
import { TaskEventSchema, TaskEventsSchema, type Task, type TaskEvent, type WatchSessionResponse } from '@foundation/contracts';
import type { Caller, EventStreamResult, Window } from './agent-messages.js';
import { eventId, idOf, TurnEventSource, turnCompletedEvent } from './agent-turn-events.js';
import { HeartbeatingNode } from './heartbeating-node.js';
import { summarizeLatencies } from './percentile.js';
import { sessionClient } from './session-client.js';

const ACK_TIMEOUT_MS = 30_000;
/** Events whose encoded size is measured: enough for a mean, without spending the nodes' process's CPU. */
const SIZED_EVENTS = 2_000;

export interface EventStreamOptions {
  baseUrl: string;
  credential: string;
  caller: Caller;
  /** Batches hold 1 to this many events. */
  maxBatch: number;
  /** At most this many batches sent and not yet acknowledged. */
  batchesInFlight: number;
}

/**
 * One node streaming a long turn through the brain to the session service, which persists every event,
 * while a WatchSession client follows the session. The node keeps `batchesInFlight` TaskEvents messages
 * unacknowledged, so the brain always has the next batch waiting while it relays one, yet no queue grows
 * without bound (then latency would measure the queue, not the path). Send and receive times are taken in
 * this process, on one clock.
 */
export class SessionEventStream {
  readonly #sentAt: number[] = [];
  readonly #receivedAt: number[] = [];
  readonly #source = new TurnEventSource();
  readonly #watch = new AbortController();
  #batches = 0;
  #acked = 0;
  #sizedBytes = 0;
  #outOfOrder = '';
  #stopping = false;
  #producing: Promise<void> = Promise.resolve();
  #watching: Promise<void> = Promise.resolve();

  private constructor(
    private readonly node: HeartbeatingNode,
    private readonly task: Task,
  ) {}

  static async start(options: EventStreamOptions): Promise<SessionEventStream> {
    const node = await HeartbeatingNode.connect(options.baseUrl, options.credential);
    const { sessions, as } = sessionClient(options.baseUrl, options.caller);
    const { session } = await sessions.createSession({ engine: 'gateway.claude.v2', workspace: 'bench', prompt: 'a long turn' }, as);
    const { task } = await node.node.next('assignTask');
    node.node.running.set(task!.taskId, task!.leaseToken);
    const stream = new SessionEventStream(node, task!);
    stream.#watching = stream.#follow(sessions.watchSession({ sessionId: session!.id }, { ...as, signal: stream.#watch.signal }));
    stream.#producing = stream.#produce(options.maxBatch, options.batchesInFlight);
    return stream;
  }

  /** Stops sending, ends the turn, waits for the watcher to see every event, and counts what the windows hold. */
  async stop(windows: Window[]): Promise<EventStreamResult> {
    this.#stopping = true;
    await this.#producing;
    const last = this.#source.lastSeq + 1;
    this.#send([turnCompletedEvent(last, 'done')]);
    await this.#waitFor(() => this.#receivedAt[last] !== undefined, 'the watcher to receive the TurnCompleted');
    this.#watch.abort();
    await this.#watching;
    await this.node.close();

    const latencies: number[] = [];
    for (let seq = 1; seq < last; seq++) {
      const at = this.#receivedAt[seq]!;
      if (windows.some(([start, end]) => at >= start && at < end)) latencies.push(at - this.#sentAt[seq]!);
    }
    const summary = summarizeLatencies(latencies);
    const seconds = windows.reduce((sum, [start, end]) => sum + (end - start) / 1000, 0);
    // The watcher received `last`, the seqs came one after another: any problem is in #outOfOrder.
    if (this.#outOfOrder !== '') throw new Error(`the watcher did not see every event in order: ${this.#outOfOrder}`);
    return {
      events: latencies.length,
      seconds,
      p50Ms: summary.p50,
      p99Ms: summary.p99,
      maxMs: summary.max,
      batches: this.#batches,
      meanBatch: this.#source.lastSeq / this.#batches,
      meanEventBytes: this.#sizedBytes / Math.min(SIZED_EVENTS, this.#source.lastSeq),
    };
  }

  async #produce(maxBatch: number, batchesInFlight: number): Promise<void> {
    const batchEnds: number[] = [];
    while (!this.#stopping) {
      while (batchEnds.length < batchesInFlight) {
        this.#send(this.#source.next(this.#source.batchSize(maxBatch)));
        batchEnds.push(this.#source.lastSeq);
      }
      await this.#nextAck();
      while (batchEnds.length > 0 && batchEnds[0]! <= this.#acked) batchEnds.shift();
    }
    while (this.#acked < this.#source.lastSeq) await this.#nextAck();
  }

  /** Waits for an Ack beyond what is acknowledged so far. */
  async #nextAck(): Promise<void> {
    const { node } = this.node;
    await node.next('ack', (a) => a.seq > BigInt(this.#acked), ACK_TIMEOUT_MS);
    for (const response of node.received) if (response.kind.case === 'ack') this.#acked = Math.max(this.#acked, Number(response.kind.value.seq));
    // next() searches everything received from the start; keeping thousands of acks would make each search slower.
    node.received.length = 0;
  }

  #send(events: TaskEvent[]): void {
    const now = performance.now();
    for (const e of events) {
      const seq = Number(e.seq);
      this.#sentAt[seq] = now;
      if (seq <= SIZED_EVENTS) this.#sizedBytes += toBinary(TaskEventSchema, e).length;
    }
    this.#batches++;
    this.node.node.send({ case: 'taskEvents', value: create(TaskEventsSchema, { taskId: this.task.taskId, leaseToken: this.task.leaseToken, events }) });
  }

  /** Records when each event reaches the watcher, checking it is the next one and the event its seq names. */
  async #follow(responses: AsyncIterable<WatchSessionResponse>): Promise<void> {
    let previous = 0;
    try {
      for await (const { event } of responses) {
        const at = performance.now();
        const seq = Number(event!.seq);
        const id = event!.event ? idOf(event!.event) : undefined;
        if (seq !== previous + 1 || (id !== undefined && id !== eventId(seq))) this.#outOfOrder ||= `seq ${seq} (id ${id}) after ${previous}`;
        this.#receivedAt[seq] = at;
        previous = seq;
      }
    } catch (error) {
      if (!this.#watch.signal.aborted) throw error;
    }
  }

  async #waitFor(done: () => boolean, what: string): Promise<void> {
    const deadline = performance.now() + ACK_TIMEOUT_MS;
    while (!done()) {
      if (performance.now() > deadline) throw new Error(`gave up waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
