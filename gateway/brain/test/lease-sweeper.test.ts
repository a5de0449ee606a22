import { randomUUID } from 'node:crypto';
import { Code } from '@connectrpc/connect';
import { createLogger, rpcError } from '@foundation/kit';
import { expect } from 'chai';
import type { BrainSignals } from '../src/brain-signals.js';
import { ConnectionRegistry } from '../src/connection-registry.js';
import { LeaseSweeper } from '../src/lease-sweeper.js';
import type { TaskCloser } from '../src/task-closer.js';
import type { TaskRecord, TaskStore } from '../src/task-store.js';

/** The sweeper alone: the task store and the session service (behind the closer) replaced by stand-ins. */
describe('LeaseSweeper', () => {
  const orgId = randomUUID();
  const lapsed = (lastSeq: number): TaskRecord => ({ taskId: randomUUID(), orgId, state: 'assigned', lastSeq }) as TaskRecord;

  /** A sweep over one lapsed task; what expireLease was given (undefined when not called) and what the session service was asked. */
  const sweepOne = async (task: TaskRecord, persistedSeq: () => Promise<number>) => {
    const expiredWith: number[] = [];
    let asked = 0;
    const tasks = {
      toSweep: async () => [{ orgId, taskId: task.taskId }],
      read: async () => task,
      expireLease: async (_org: string, _task: string, storedSeq: number) => {
        expiredWith.push(storedSeq);
        return undefined;
      },
      pendingKinds: async () => [],
    } as unknown as TaskStore;
    const closer = {
      persistedSeq: async () => {
        asked++;
        return persistedSeq();
      },
      finish: async () => true,
    } as unknown as TaskCloser;
    const signals = { send: () => undefined } as unknown as BrainSignals;
    await new LeaseSweeper(tasks, closer, new ConnectionRegistry(), signals, 1_000, createLogger({ level: 'silent', target: 'brain' })).sweep();
    return { expiredWith, asked };
  };

  describe('sweep()', () => {
    it('settles a lapsed task the brain recorded nothing for by what the session service stored of it', async () => {
      expect(await sweepOne(lapsed(0), async () => 3)).to.deep.equal({ expiredWith: [3], asked: 1 });
    });

    it('counts a task the session service does not know as having nothing stored', async () => {
      const unknown = async () => Promise.reject(rpcError(Code.NotFound, 'NOT_FOUND', 'no such task'));
      expect(await sweepOne(lapsed(0), unknown)).to.deep.equal({ expiredWith: [0], asked: 1 });
    });

    it('leaves a lapsed task with nothing recorded for a later sweep while the session service cannot say what it stored', async () => {
      const down = async () => Promise.reject(rpcError(Code.Unavailable, 'DEPENDENCY_UNAVAILABLE', 'down'));
      expect(await sweepOne(lapsed(0), down)).to.deep.equal({ expiredWith: [], asked: 1 });
    });

    it('does not ask the session service about a task the brain recorded events for', async () => {
      expect(await sweepOne(lapsed(2), async () => 5)).to.deep.equal({ expiredWith: [2], asked: 0 });
    });
  });
});
