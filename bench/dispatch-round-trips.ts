import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { TaskEventsSchema, type TaskEvent } from '@foundation/contracts';
import type { Caller, DispatchTiming } from './agent-messages.js';
import { sessionStartedEvent, turnCompletedEvent } from './agent-turn-events.js';
import { HeartbeatingNode } from './heartbeating-node.js';
import { sessionClient } from './session-client.js';

/** A node waits this long for its next AssignTask (or an Ack) before the bench counts the dispatch as lost. */
const ASSIGNMENT_TIMEOUT_MS = 30_000;

/** When one node received a task, the Ack of its first event, and the Ack of its TurnCompleted (the node's clock). */
interface Answered {
  assignedAt: number;
  firstAckedAt: number;
  completedSentAt: number;
  completedAckedAt: number;
}

/**
 * Sessions opened one after another (SessionService.CreateSession, as a user opens one) on nodes that
 * answer every AssignTask as an engine starts a turn: at once with the turn's first event, a
 * SessionStarted (seq 1), and once its Ack came back, with the TurnCompleted (seq 2), so the turn ends and
 * the node's capacity is free again. Timed on the nodes' clock:
 *
 * - issue 5's dispatch round trip: from the node receiving AssignTask (the brain assigned the task an
 *   instant before) to the node receiving the Ack of the SessionStarted: TaskEvents up → the brain's lease
 *   check → the session service persists it → Ack;
 * - from the CreateSession call: to the node receiving AssignTask (session service → brain StartTask →
 *   AssignTask down the stream), to CreateSession returning, and to that Ack;
 * - the turn's end: from the node sending the TurnCompleted to its Ack (the task ends in the brain).
 *
 * The first `warmup` are not kept.
 */
export async function dispatchRoundTrips(baseUrl: string, credentials: string[], caller: Caller, warmup: number, count: number): Promise<DispatchTiming[]> {
  const nodes = await Promise.all(credentials.map((credential) => HeartbeatingNode.connect(baseUrl, credential)));
  const answers = new AnswerQueue();
  const answering = nodes.map((n) => answerAssignments(n, answers));
  const { sessions, as } = sessionClient(baseUrl, caller);
  const timings: DispatchTiming[] = [];
  try {
    for (let i = 0; i < warmup + count; i++) {
      const began = performance.now();
      // Not awaited before the answer: StartTask hands the task to a node before CreateSession returns.
      const created = sessions.createSession({ engine: 'gateway.claude.v2', workspace: 'bench', prompt: `dispatch ${i}` }, as).then(() => performance.now());
      const answered = await answers.next(ASSIGNMENT_TIMEOUT_MS);
      const createdAt = await created;
      if (i >= warmup) {
        timings.push({
          assignedMs: answered.assignedAt - began,
          createdMs: createdAt - began,
          firstAckedMs: answered.firstAckedAt - began,
          roundTripMs: answered.firstAckedAt - answered.assignedAt,
          completedMs: answered.completedAckedAt - answered.completedSentAt,
        });
      }
    }
  } finally {
    await Promise.all(nodes.map((n) => n.close()));
    await Promise.all(answering);
  }
  return timings;
}

/** Answers each task the node is given with a SessionStarted, then its TurnCompleted, until the bench closes the node. */
async function answerAssignments({ node }: HeartbeatingNode, answers: AnswerQueue): Promise<void> {
  const seen = new Set<string>();
  try {
    for (;;) {
      const { task } = await node.next('assignTask', (a) => !seen.has(a.task!.taskId), 24 * 3600_000);
      const assignedAt = performance.now();
      const { taskId, leaseToken } = task!;
      seen.add(taskId);
      const report = async (event: TaskEvent) => {
        node.send({ case: 'taskEvents', value: create(TaskEventsSchema, { taskId, leaseToken, events: [event] }) });
        await node.next('ack', (a) => a.taskId === taskId && a.seq >= event.seq, ASSIGNMENT_TIMEOUT_MS);
        return performance.now();
      };
      const engineSessionId = randomUUID();
      const firstAckedAt = await report(sessionStartedEvent(1, engineSessionId));
      const completedSentAt = performance.now();
      const completedAckedAt = await report(turnCompletedEvent(2, 'done', engineSessionId));
      answers.push({ assignedAt, firstAckedAt, completedSentAt, completedAckedAt });
    }
  } catch {
    // The stream ended: the bench closed the node. An answer lost otherwise fails the dispatch by its timeout.
  }
}

/** Answers in the order the nodes completed them; one dispatch runs at a time, so the next is the current one's. */
class AnswerQueue {
  readonly #ready: Answered[] = [];
  #waiter: ((answered: Answered) => void) | undefined;

  push(answered: Answered): void {
    if (this.#waiter) this.#waiter(answered);
    else this.#ready.push(answered);
  }

  next(timeoutMs: number): Promise<Answered> {
    const ready = this.#ready.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no node answered a session within ${timeoutMs} ms`)), timeoutMs);
      this.#waiter = (answered) => {
        clearTimeout(timer);
        this.#waiter = undefined;
        resolve(answered);
      };
    });
  }
}
