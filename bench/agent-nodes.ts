/**
 * The nodes' side of the `agents` bench (bench/agent-gateway.ts starts it with an IPC channel): simulated
 * node-agents over real gRPC and a user's session client, in a process of their own, so that the server
 * process's memory and CPU are the platform's alone. It does what the server asks (agent-messages.ts) and
 * answers each request; BENCH_BASE_URL names the server.
 */
import type { AgentReply, AgentRequest, Envelope } from './agent-messages.js';
import { dispatchRoundTrips } from './dispatch-round-trips.js';
import { heartbeatCount, HeartbeatingNode } from './heartbeating-node.js';
import { SessionEventStream } from './session-event-stream.js';

/** Nodes connecting at once: a brain restart makes every node reconnect within seconds, but not in one instant. */
const CONNECTS_IN_FLIGHT = 50;

const baseUrl = process.env.BENCH_BASE_URL;
if (!baseUrl || !process.send) throw new Error('bench/agent-nodes.ts is started by bench/agent-gateway.ts');

const idle: HeartbeatingNode[] = [];
let events: SessionEventStream | undefined;

async function handle(request: AgentRequest): Promise<AgentReply> {
  switch (request.kind) {
    case 'connect-idle': {
      const began = performance.now();
      let next = 0;
      const connectOne = async () => {
        while (next < request.credentials.length) idle.push(await HeartbeatingNode.connect(baseUrl!, request.credentials[next++]!));
      };
      await Promise.all(Array.from({ length: CONNECTS_IN_FLIGHT }, connectOne));
      return { kind: 'connected', nodes: idle.length, connectSeconds: (performance.now() - began) / 1000, heartbeatMs: idle[0]?.heartbeatMs ?? NaN };
    }
    case 'mark':
      return { kind: 'mark', at: performance.now(), heartbeatsSent: heartbeatCount.sent, nodesLost: idle.filter((n) => n.lost).length };
    case 'pause-heartbeats':
      for (const n of idle) n.pause();
      return { kind: 'heartbeats-paused' };
    case 'resume-heartbeats':
      for (const n of idle) n.resume();
      return { kind: 'heartbeats-resumed' };
    case 'drop-idle':
      await Promise.all(idle.splice(0).map((n) => n.close()));
      return { kind: 'dropped' };
    case 'dispatch':
      return { kind: 'dispatched', dispatches: await dispatchRoundTrips(baseUrl!, request.credentials, request.caller, request.warmup, request.count) };
    case 'start-events': {
      events = await SessionEventStream.start({ baseUrl: baseUrl!, ...request });
      await new Promise((resolve) => setTimeout(resolve, request.warmupMs));
      return { kind: 'events-started' };
    }
    case 'stop-events': {
      if (!events) throw new Error('stop-events before start-events');
      return { kind: 'events', result: await events.stop(request.windows) };
    }
  }
}

process.on('message', (request: Envelope<AgentRequest>) => {
  handle(request).then(
    (reply) => process.send!({ ...reply, id: request.id }),
    (error: unknown) => {
      process.stderr.write(`bench nodes: ${request.kind} failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
});
// The server closes the channel when it is done (or dies): nothing is left to do.
process.on('disconnect', () => process.exit(0));
