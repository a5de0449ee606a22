import { durationMs } from '@bufbuild/protobuf/wkt';
import { SimulatedNode, type NodeRequest } from '@foundation/testing';

/** Heartbeats sent by every node of this process, so the server can turn CPU into a cost per heartbeat. */
export const heartbeatCount = { sent: 0 };

/** How long a node waits for its Welcome; a brain taking connections by the thousand is slow to answer. */
const WELCOME_TIMEOUT_MS = 60_000;

/**
 * A simulated node (SimulatedNode of @foundation/testing: connect-node's gRPC client, one HTTP/2 connection of
 * its own) that heartbeats as the node-agent does, at the interval its Welcome names. The first heartbeat
 * comes after a random part of the interval, so a fleet connected within seconds heartbeats evenly
 * spread, as real nodes that connected at different times do, rather than in bursts.
 */
export class HeartbeatingNode {
  #timer: NodeJS.Timeout | undefined;
  #ended = false;
  #closing = false;

  private constructor(
    readonly node: SimulatedNode,
    readonly heartbeatMs: number,
  ) {
    this.#beatAfter(Math.random() * heartbeatMs);
    void node.ended.then(() => {
      this.#ended = true;
      clearTimeout(this.#timer);
    });
  }

  /** Stops heartbeating, for less than the brain's silence limit (three intervals) or the brain drops the node. */
  pause(): void {
    clearTimeout(this.#timer);
  }

  /** Heartbeats again, at once: the node has been silent for a while. */
  resume(): void {
    if (!this.#ended) this.#beatAfter(0);
  }

  #beatAfter(ms: number): void {
    this.#timer = setTimeout(() => {
      this.node.heartbeat();
      heartbeatCount.sent++;
      this.#beatAfter(this.heartbeatMs);
    }, ms);
  }

  /** `pull`: what the node sends whenever its stream can take a message (SimulatedNodeOptions.pull). */
  static async connect(baseUrl: string, credential: string, pull?: () => NodeRequest | undefined): Promise<HeartbeatingNode> {
    const node = new SimulatedNode({ baseUrl, credential, pull });
    const welcome = await node.next('welcome', () => true, WELCOME_TIMEOUT_MS);
    if (!welcome.heartbeatInterval) throw new Error('the Welcome names no heartbeat interval');
    return new HeartbeatingNode(node, durationMs(welcome.heartbeatInterval));
  }

  /** The stream ended without the bench closing it: the brain dropped the node. */
  get lost(): boolean {
    return this.#ended && !this.#closing;
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#timer);
    await this.node.kill();
  }
}
