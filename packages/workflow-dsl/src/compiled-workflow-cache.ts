import { compileWorkflow, type CompiledWorkflow } from './compiled-workflow.js';
import type { WorkflowSpecJson } from './spec-json.js';

/**
 * Compiled published versions by workflow id and version, so a worker compiles a version once and runs
 * it many times. A published version never changes, so an entry never goes stale; beyond `maxVersions`
 * the least recently used one is dropped.
 */
export class CompiledWorkflowCache {
  readonly #compiled = new Map<string, CompiledWorkflow>();

  constructor(readonly maxVersions = 1000) {}

  /** The compiled version, compiling `spec` on first use; throws `WorkflowInvalidError` as `compileWorkflow` does. */
  compile(workflowId: string, version: number, spec: WorkflowSpecJson): CompiledWorkflow {
    const key = `${workflowId}:${version}`;
    const compiled = this.#compiled.get(key) ?? compileWorkflow(spec);
    // Re-inserting keeps the Map in least-recently-used order.
    this.#compiled.delete(key);
    this.#compiled.set(key, compiled);
    if (this.#compiled.size > this.maxVersions) this.#compiled.delete(this.#compiled.keys().next().value!);
    return compiled;
  }
}
