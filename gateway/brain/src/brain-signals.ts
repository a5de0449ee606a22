import type { Logger } from '@foundation/kit';
import { Redis } from 'ioredis';

const CHANNEL = 'foundation:brain:signals';

/**
 * What one brain instance tells the others. Every instance receives every signal and acts on the nodes
 * whose streams it holds; a node held nowhere ignores it (the database already says what happened).
 */
export type BrainSignal =
  /** Tasks of the org are pending: instances holding its nodes try to dispatch them. */
  | { kind: 'tasks-pending'; orgId: string }
  /** The node's credential was revoked: its stream ends at once. */
  | { kind: 'executor-revoked'; executorId: string }
  /** The node opened a new stream: any other stream of it ends. */
  | { kind: 'executor-connected'; executorId: string; connectionId: string }
  /** Tell the node holding the task to stop it. */
  | { kind: 'cancel-task'; executorId: string; taskId: string; reason: string };

/**
 * Redis pub/sub between brain instances. A signal is delivered to this instance's own handler directly
 * and to the others through Redis (each ignores its own echo), so a lost Redis message only affects other
 * instances, and each of those effects has a fallback: dispatch also runs on every sweep, a revoked
 * node's next heartbeat finds it revoked, and an unheeded cancellation ends when the task's lease does.
 */
export class BrainSignals {
  readonly #subscriber: Redis;
  #handler: (signal: BrainSignal) => void = () => undefined;

  constructor(
    private readonly publisher: Redis,
    redisUrl: string,
    private readonly instanceId: string,
    private readonly log: Logger,
  ) {
    this.#subscriber = new Redis(redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
    this.#subscriber.on('error', () => undefined);
    this.#subscriber.on('message', (_channel: string, text: string) => {
      const { from, signal } = JSON.parse(text) as { from: string; signal: BrainSignal };
      if (from !== this.instanceId) this.deliver(signal);
    });
  }

  async connect(handler: (signal: BrainSignal) => void): Promise<void> {
    this.#handler = handler;
    await this.#subscriber.connect();
    await this.#subscriber.subscribe(CHANNEL);
  }

  send(signal: BrainSignal): void {
    this.deliver(signal);
    this.sendToOthers(signal);
  }

  /** For what this instance has done already (offered a new task to its own nodes): the others only. */
  sendToOthers(signal: BrainSignal): void {
    this.publisher.publish(CHANNEL, JSON.stringify({ from: this.instanceId, signal })).catch((error: Error) => {
      this.log.warn({ signal: signal.kind, error: error.message }, 'could not reach other brain instances; they catch up on their next sweep');
    });
  }

  close(): void {
    this.#subscriber.disconnect();
  }

  private deliver(signal: BrainSignal): void {
    try {
      this.#handler(signal);
    } catch (error) {
      this.log.error({ err: error, signal: signal.kind }, 'a brain signal handler failed');
    }
  }
}
