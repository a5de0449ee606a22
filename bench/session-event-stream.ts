import { create, toBinary } from '@bufbuild/protobuf';
import { TaskEventSchema, TaskEventsSchema, type Task, type TaskEvent, type WatchSessionResponse } from '@foundation/contracts';
import type { Caller, EventStreamResult, Window } from './agent-messages.js';
import { eventId, idOf, TurnEventSource, turnCompletedEvent } from './agent-turn-events.js';
import type { NodeRequest } from '@foundation/testing';
import { HeartbeatingNode } from './heartbeating-node.js';
import { summarizeLatencies } from './percentile.js';
import { sessionClient } from './session-client.js';

const WAIT_TIMEOUT_MS = 30_000;
/** Events whose encoded size is measured: enough for a mean, without spending the nodes' process's CPU. */
const SIZED_EVENTS = 2_000;

export interface EventStreamOptions {
  baseUrl: string;
  credential: string;
  caller: Caller;
  /** The engine prints 1 to this many events at a time. */
  maxBatch: number;
  /** Events per second the engine prints at most; 0: its next batch whenever the node can send one. */
  rate: number;
}

/** How soon a node held back by the rate looks again for events to send. */
const RATE_TICK_MS = 5;

/**
 * One node streaming a long turn through the brain to the session service, which persists every event,
 * while a WatchSession client follows the session. The node sends as the node-agent does
 * (`node-agent/src/brain-connection.ts`): whenever the stream can take another TaskEvents message it sends
 * what its engine printed, without waiting for Acks, so only HTTP/2 flow control and the brain's reading
 * hold it back. The engine here prints its next batch the moment the node can send it: the node always has
 * something to send, yet nothing piles up in it (then latency would measure the node's queue, not the
 * path). Send and receive times are taken in this process, on one clock.
 */
export class SessionEventStream {
  readonly #sentAt: number[] = [];
  readonly #receivedAt: number[] = [];
  readonly #source = new TurnEventSource();
  readonly #watch = new AbortController();
  /** The last seq of each TaskEvents message sent and not yet acknowledged, oldest first. */
  readonly #unacknowledged: number[] = [];
  #task: Task | undefined;
  #batches = 0;
  #acked = 0;
  #unacknowledgedSum = 0;
  #unacknowledgedMax = 0;
  #sizedBytes = 0;
  #outOfOrder = '';
  #stopping = false;
  #watching: Promise<void> = Promise.resolve();
  #startedAt = 0;
  #tick: NodeJS.Timeout | undefined;

  private constructor(
    private readonly node: HeartbeatingNode,
    private readonly maxBatch: number,
    private readonly rate: number,
  ) {}

  static async start(options: EventStreamOptions): Promise<SessionEventStream> {
    let stream: SessionEventStream | undefined;
    const node = await HeartbeatingNode.connect(options.baseUrl, options.credential, () => (stream === undefined ? undefined : stream.#nextMessage()));
    stream = new SessionEventStream(node, options.maxBatch, options.rate);
    const { sessions, as } = sessionClient(options.baseUrl, options.caller);
    const { session } = await sessions.createSession({ engine: 'gateway.claude.v2', workspace: 'bench', prompt: 'a long turn' }, as);
    const { task } = await node.node.next('assignTask');
    node.node.running.set(task!.taskId, task!.leaseToken);
    stream.#watching = stream.#follow(sessions.watchSession({ sessionId: session!.id }, { ...as, signal: stream.#watch.signal }));
    stream.#task = task;
    stream.#startedAt = performance.now();
    node.node.wake();
    return stream;
  }

  /** Stops sending, ends the turn, waits for the watcher to see every event, and counts what the windows hold. */
  async stop(windows: Window[]): Promise<EventStreamResult> {
    this.#stopping = true;
    clearTimeout(this.#tick);
    const last = this.#source.lastSeq + 1;
    this.node.node.send(this.#message([turnCompletedEvent(last, 'done')]));
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
      meanUnacknowledged: this.#unacknowledgedSum / this.#batches,
      maxUnacknowledged: this.#unacknowledgedMax,
    };
  }

  /**
   * The stream can take another message: the engine's next batch, until the bench stops. With a rate, only
   * what the engine has printed by now; when it has printed nothing new, the node looks again shortly.
   */
  #nextMessage(): NodeRequest | undefined {
    if (this.#task === undefined || this.#stopping) return undefined;
    let size = this.#source.batchSize(this.maxBatch);
    if (this.rate > 0) {
      const printed = Math.floor(((performance.now() - this.#startedAt) * this.rate) / 1000) - this.#source.lastSeq;
      if (printed <= 0) {
        this.#tick ??= setTimeout(() => {
          this.#tick = undefined;
          this.node.node.wake();
        }, RATE_TICK_MS);
        return undefined;
      }
      size = Math.min(size, printed);
    }
    return this.#message(this.#source.next(size));
  }

  /** Times the events, counts the messages still unacknowledged (this one included), and makes the message. */
  #message(events: TaskEvent[]): NodeRequest {
    const now = performance.now();
    for (const e of events) {
      const seq = Number(e.seq);
      this.#sentAt[seq] = now;
      if (seq <= SIZED_EVENTS) this.#sizedBytes += toBinary(TaskEventSchema, e).length;
    }
    this.#countAcks();
    this.#unacknowledged.push(Number(events[events.length - 1]!.seq));
    this.#unacknowledgedSum += this.#unacknowledged.length;
    this.#unacknowledgedMax = Math.max(this.#unacknowledgedMax, this.#unacknowledged.length);
    this.#batches++;
    return { case: 'taskEvents', value: create(TaskEventsSchema, { taskId: this.#task!.taskId, leaseToken: this.#task!.leaseToken, events }) };
  }

  /** Takes the Acks received so far off the node's record (which would otherwise grow by one per message). */
  #countAcks(): void {
    const { node } = this.node;
    for (const response of node.received) if (response.kind.case === 'ack') this.#acked = Math.max(this.#acked, Number(response.kind.value.seq));
    node.received.length = 0;
    while (this.#unacknowledged.length > 0 && this.#unacknowledged[0]! <= this.#acked) this.#unacknowledged.shift();
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
    const deadline = performance.now() + WAIT_TIMEOUT_MS;
    while (!done()) {
      if (performance.now() > deadline) throw new Error(`gave up waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
