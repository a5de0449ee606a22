import { create, fromJson } from '@bufbuild/protobuf';
import { timestampNow, ValueSchema } from '@bufbuild/protobuf/wkt';
import {
  AgentEventSchema,
  AgentMessage_Role,
  AgentMessageSchema,
  FileChange_Kind,
  FileChangedSchema,
  FileChangeSchema,
  ReasoningSchema,
  SessionStartedSchema,
  TaskEventSchema,
  ToolCompletedSchema,
  ToolKind,
  ToolStartedSchema,
  ToolStatus,
  TurnCompleted_Status,
  TurnCompletedSchema,
  UsageSchema,
  type AgentEvent,
  type TaskEvent,
} from '@foundation/contracts';

/**
 * The events of a long coding-agent turn, as a node-agent reports them: the engine thinks, runs a
 * command, reads its output, edits a file, says what it did, over and over. Sizes are those of real
 * Claude Code and Codex turns (a few hundred bytes of text, kilobytes of command output and diffs).
 * Seeded, so every run sends the same stream. Each event carries its task seq in its id, so a reader can
 * check that what it received is the event it times.
 */
export class TurnEventSource {
  #random: () => number;
  #seq = 0;

  constructor(seed = 1) {
    this.#random = mulberry32(seed);
  }

  /** The task seq of the last event made. */
  get lastSeq(): number {
    return this.#seq;
  }

  /** The next `count` events, numbered on from the last. */
  next(count: number): TaskEvent[] {
    return Array.from({ length: count }, () => {
      const seq = ++this.#seq;
      return create(TaskEventSchema, { seq: BigInt(seq), time: timestampNow(), event: this.#eventFor(seq) });
    });
  }

  /** A batch size between 1 and `max`, as a node sends whatever its engine printed since the last batch. */
  batchSize(max: number): number {
    return 1 + Math.floor(this.#random() * max);
  }

  #eventFor(seq: number): AgentEvent {
    const id = eventId(seq);
    switch (seq % 6) {
      case 0:
        return agentEvent({ case: 'reasoning', value: create(ReasoningSchema, { id, text: this.#text(200, 600) }) });
      case 1: {
        const command = `npm test -- --grep "${this.#text(10, 30).trim()}"`;
        return agentEvent({
          case: 'toolStarted',
          value: create(ToolStartedSchema, {
            callId: id,
            kind: ToolKind.EXECUTE,
            name: 'Bash',
            title: command,
            input: fromJson(ValueSchema, { command, description: 'Run the failing tests', timeout: 120000 }),
          }),
        });
      }
      case 2:
        return agentEvent({
          case: 'toolCompleted',
          value: create(ToolCompletedSchema, { callId: id, status: ToolStatus.COMPLETED, output: this.#text(800, 4000), exitCode: 1 }),
        });
      case 3:
        return agentEvent({
          case: 'fileChanged',
          value: create(FileChangedSchema, {
            callId: id,
            changes: [create(FileChangeSchema, { path: 'src/session-store.ts', kind: FileChange_Kind.UPDATE, unifiedDiff: this.#diff() })],
          }),
        });
      case 4:
        return agentEvent({ case: 'message', value: create(AgentMessageSchema, { messageId: id, role: AgentMessage_Role.ASSISTANT, text: this.#text(150, 1200) }) });
      default:
        return agentEvent({ case: 'usage', value: create(UsageSchema, { inputTokens: 48_211n, cachedInputTokens: 40_960n, outputTokens: 1_377n }) });
    }
  }

  #text(min: number, max: number): string {
    const length = min + Math.floor(this.#random() * (max - min));
    let text = '';
    while (text.length < length) text += WORDS[Math.floor(this.#random() * WORDS.length)] + (this.#random() < 0.08 ? '\n' : ' ');
    return text.slice(0, length);
  }

  #diff(): string {
    const lines = ['--- a/src/session-store.ts', '+++ b/src/session-store.ts', '@@ -120,7 +120,9 @@ export class SessionStore {'];
    const changed = 8 + Math.floor(this.#random() * 24);
    for (let i = 0; i < changed; i++) lines.push(`${' -+'[i % 3]}    ${this.#text(20, 70).replace(/\n/g, ' ')}`);
    return lines.join('\n');
  }
}

/**
 * The SessionStarted a turn begins with, numbered `seq`, as the node-agent reports Claude Code's `system`
 * `init` line (node-agent/src/engines/claude-protocol.ts): the engine's session id, model, working
 * directory and CLI version.
 */
export function sessionStartedEvent(seq: number, engineSessionId: string): TaskEvent {
  return create(TaskEventSchema, {
    seq: BigInt(seq),
    time: timestampNow(),
    event: agentEvent({
      case: 'sessionStarted',
      value: create(SessionStartedSchema, { engineSessionId, model: 'claude-sonnet-4-5-20250929', cwd: '/home/dev/src/bench', cliVersion: '2.0.14 (Claude Code)' }),
    }),
  });
}

/** The TurnCompleted that ends a turn, numbered `seq`; `engineSessionId` as an engine's result line names it. */
export function turnCompletedEvent(seq: number, resultText: string, engineSessionId = ''): TaskEvent {
  return create(TaskEventSchema, {
    seq: BigInt(seq),
    time: timestampNow(),
    event: agentEvent({ case: 'turnCompleted', value: create(TurnCompletedSchema, { status: TurnCompleted_Status.SUCCESS, resultText, engineSessionId }) }),
  });
}

/** The id the event made for task seq `seq` carries (message, call or reasoning id; a Usage carries none). */
export function eventId(seq: number): string {
  return `e${seq}`;
}

/** The id an event carries, as `eventId` made it, or undefined for kinds without one. */
export function idOf(event: AgentEvent): string | undefined {
  switch (event.kind.case) {
    case 'reasoning':
      return event.kind.value.id;
    case 'toolStarted':
    case 'toolCompleted':
    case 'fileChanged':
      return event.kind.value.callId;
    case 'message':
      return event.kind.value.messageId;
    default:
      return undefined;
  }
}

function agentEvent(kind: AgentEvent['kind']): AgentEvent {
  return create(AgentEventSchema, { kind });
}

/** A small, fast, seedable PRNG (mulberry32), so the event stream is the same in every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'the test fails because session store returns events out of order when two batches race for the same lock ' +
  'expected 3 to equal 2 at Context.<anonymous> (test/session-events.test.ts:41:27) async Promise.all ' +
  'I will update the query so that it orders by seq and add a regression test covering the concurrent case ' +
  'const rows = await tx.query(`select seq from session.agent_session_events where session_id = $1`) return'
).split(' ');
