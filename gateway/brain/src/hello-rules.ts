import { isEngineId } from '@foundation/agent-engines';
import type { Hello } from '@foundation/contracts';
import type { FieldViolation } from '@foundation/kit';
import type { EngineInstallationRecord } from './executor-store.js';
import { nodeFactsViolations } from './node-facts-rules.js';

const MAX_CAPACITY = 64;
/** More held tasks than any node's capacity allows, with room for tasks that only have events left to send. */
export const MAX_HELD_TASKS = 1024;
const MAX_VERSION_LENGTH = 200;

export function helloViolations(hello: Hello): FieldViolation[] {
  const violations = nodeFactsViolations('hello.facts', hello.facts);
  if (hello.capacity < 1 || hello.capacity > MAX_CAPACITY) {
    violations.push({ field: 'hello.capacity', description: `must be between 1 and ${MAX_CAPACITY}` });
  }
  if (hello.heldTasks.length > MAX_HELD_TASKS) violations.push({ field: 'hello.held_tasks', description: `must list at most ${MAX_HELD_TASKS} tasks` });
  if (hello.engines.length > 16) violations.push({ field: 'hello.engines', description: 'must list at most 16 engines' });
  if (hello.engines.some((e) => e.version.length > MAX_VERSION_LENGTH)) {
    violations.push({ field: 'hello.engines', description: `an engine version must be at most ${MAX_VERSION_LENGTH} characters` });
  }
  return violations;
}

/** The engines of a Hello the platform knows; a newer node's other engines are not offered work. */
export function offeredEngines(hello: Hello): EngineInstallationRecord[] {
  return hello.engines.filter((e) => isEngineId(e.engine)).map((e) => ({ engine: e.engine, version: e.version }));
}
