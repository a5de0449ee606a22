import { PlanEntry_Status } from '@foundation/contracts';
import { recordAt, stringAt } from './json-fields.js';

const TODO_STATUSES: Record<string, PlanEntry_Status> = {
  pending: PlanEntry_Status.PENDING,
  in_progress: PlanEntry_Status.IN_PROGRESS,
  completed: PlanEntry_Status.COMPLETED,
};

/** One item of a todo-list tool's input (Claude's TodoWrite, OpenCode's todowrite) as a plan entry. */
export function todoEntry(value: unknown): { text: string; status: PlanEntry_Status } {
  const todo = recordAt(value) ?? {};
  return { text: stringAt(todo['content']) ?? '', status: TODO_STATUSES[stringAt(todo['status']) ?? ''] ?? PlanEntry_Status.UNSPECIFIED };
}
