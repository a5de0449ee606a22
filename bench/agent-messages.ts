/**
 * What bench/agent-gateway.ts (the server process) and bench/agent-nodes.ts (the simulated nodes and the
 * session client, in a process of their own) exchange over the IPC channel. The server asks, the nodes'
 * process answers each request with a reply of the same id. Times are the nodes' process's
 * `performance.now()`, so every latency is taken on one clock.
 */

/** Where a user's calls go: an access token of an org member, and the org. */
export interface Caller {
  accessToken: string;
  orgId: string;
}

export type AgentRequest =
  /** Connects these nodes (each its own HTTP/2 connection) and keeps them heartbeating; replies when all are welcomed. */
  | { kind: 'connect-idle'; credentials: string[] }
  /** The nodes' clock now and how many heartbeats they sent so far, to bound a measured window. */
  | { kind: 'mark' }
  /** Stops (or restarts) the idle nodes' heartbeats, to tell their cost from that of merely being connected. */
  | { kind: 'pause-heartbeats' }
  | { kind: 'resume-heartbeats' }
  /** Drops every idle node's connection. */
  | { kind: 'drop-idle' }
  /** Sequential sessions on these nodes, each answered at once with a SessionStarted, then a TurnCompleted; replies with their timings. */
  | { kind: 'dispatch'; credentials: string[]; caller: Caller; warmup: number; count: number }
  /** One node starts streaming a long turn's events to a session a watcher follows; replies after the warm-up. */
  | { kind: 'start-events'; credential: string; caller: Caller; maxBatch: number; rate: number; warmupMs: number }
  /** Ends the stream; replies with what was received inside the kept windows (fails unless the watcher saw every event, in order). */
  | { kind: 'stop-events'; windows: Window[] };

export type AgentReply =
  | { kind: 'connected'; nodes: number; connectSeconds: number; heartbeatMs: number }
  /** `nodesLost`: idle nodes whose stream the brain ended. */
  | { kind: 'mark'; at: number; heartbeatsSent: number; nodesLost: number }
  | { kind: 'heartbeats-paused' }
  | { kind: 'heartbeats-resumed' }
  | { kind: 'dropped' }
  | { kind: 'dispatched'; dispatches: DispatchTiming[] }
  | { kind: 'events-started' }
  | { kind: 'events'; result: EventStreamResult };

/** [start, end] on the nodes' clock, in ms. */
export type Window = [number, number];

/** One dispatch, on the nodes' clock, in ms. */
export interface DispatchTiming {
  /** From the CreateSession call to the node receiving AssignTask. */
  assignedMs: number;
  /** From the CreateSession call to its return. */
  createdMs: number;
  /** From the CreateSession call to the node receiving the Ack of its first event (the SessionStarted): it is persisted. */
  firstAckedMs: number;
  /** Issue 5's dispatch round trip: from the node receiving AssignTask to the Ack of its first event. */
  roundTripMs: number;
  /** From the node sending the turn's TurnCompleted (after that Ack) to its Ack: the task has ended. */
  completedMs: number;
}

export interface EventStreamResult {
  /** Events the watcher received inside the kept windows. */
  events: number;
  seconds: number;
  /** From the node sending an event to the watcher receiving it, for events received inside the windows. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  batches: number;
  meanBatch: number;
  /** Protobuf size of an event, averaged over the first ones sent. */
  meanEventBytes: number;
  /** TaskEvents messages sent and not yet acknowledged when the node sent one (that one included). */
  meanUnacknowledged: number;
  maxUnacknowledged: number;
}

/** A request as sent, with the id its reply carries. */
export type Envelope<T> = T & { id: number };
