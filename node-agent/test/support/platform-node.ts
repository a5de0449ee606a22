import { Executor_State, Session_State, type Session, type SessionEvent, type TurnCompleted } from '@foundation/contracts';
import type { PlatformClients } from '@foundation/testing';
import { expect } from 'chai';
import type { AgentHome, DaemonProcess } from './agent-home.js';

/** Call options of an org admin: credential and X-Org-Id. */
export type AsAdmin = () => { headers: Record<string, string> };

/** Polls `check` until it returns something, every 100 ms, up to `timeoutMs`; errors count as "not yet". */
export async function poll<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function messages(events: SessionEvent[]): string[] {
  return events.flatMap((event) => (event.event?.kind.case === 'message' ? [event.event.kind.value.text] : []));
}

/** The TurnCompleted the events end with, if they do. */
export function lastTurnCompleted(events: SessionEvent[]): TurnCompleted | undefined {
  const kind = events.at(-1)?.event?.kind;
  return kind?.case === 'turnCompleted' ? kind.value : undefined;
}

/** Asserts the events carry seqs 1..N: none lost, none stored twice, in order. */
export function expectGaplessSeqs(events: SessionEvent[]): void {
  expect(events.map((event) => Number(event.seq))).to.deep.equal(events.map((_, i) => i + 1));
}

/** A real node-agent daemon's view of the platform: pairing, its executor and the sessions on it. */
export class PlatformNode {
  constructor(
    /** Pairing and executors at the brain; sessions at the session service (the same URL in one process). */
    private readonly clients: PlatformClients,
    private readonly asAdmin: AsAdmin,
  ) {}

  /** Pairs `home` with `server` through `foundation-agent pair`, with a code an admin created. */
  async pair(home: AgentHome, server: string, name = 'test-node'): Promise<void> {
    const { code } = await this.clients.pairing.createPairingCode({}, this.asAdmin());
    const paired = await home.run(['pair', '--server', server, '--code', code, '--name', name]);
    expect(paired.code, paired.stderr).to.equal(0);
  }

  /** Waits until the daemon is connected and its executor shows ONLINE; returns the executor id. */
  async online(home: AgentHome, daemon: DaemonProcess): Promise<string> {
    await daemon.waitForLog('connected to the brain', 20_000);
    const executorId = JSON.parse((await home.run(['status', '--json'])).stdout).executorId as string;
    await poll(async () => {
      const { executor } = await this.clients.executors.getExecutor({ executorId }, this.asAdmin());
      return executor?.state === Executor_State.ONLINE ? executor : undefined;
    });
    return executorId;
  }

  async createSession(executorId: string, options: { workspace?: string; toolBridge?: boolean } = {}): Promise<string> {
    const { session } = await this.clients.sessions.createSession(
      { engine: 'gateway.codex.v2', executorId, workspace: options.workspace ?? 'repo', prompt: 'do the thing', toolBridge: options.toolBridge ?? false },
      this.asAdmin(),
    );
    return session!.id;
  }

  async events(sessionId: string): Promise<SessionEvent[]> {
    const { events } = await this.clients.sessions.listSessionEvents({ sessionId, pageSize: 1000 }, this.asAdmin());
    return events;
  }

  /** Waits until the session holds at least `count` events. */
  async eventCount(sessionId: string, count: number, timeoutMs?: number): Promise<SessionEvent[]> {
    return poll(async () => {
      const events = await this.events(sessionId);
      return events.length >= count ? events : undefined;
    }, timeoutMs);
  }

  /** Waits until the session is in one of `states`. */
  async inState(sessionId: string, states: Session_State[], timeoutMs = 30_000): Promise<Session> {
    return poll(async () => {
      const { session } = await this.clients.sessions.getSession({ sessionId }, this.asAdmin());
      return session && states.includes(session.state) ? session : undefined;
    }, timeoutMs);
  }
}
