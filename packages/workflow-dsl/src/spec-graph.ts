/** An edge between two existing, distinct nodes, with its index in the spec's `edges`. */
export interface GraphEdge {
  index: number;
  from: string;
  to: string;
}

/** An edge that closes a cycle, and the nodes around it in order (the first repeated at the end). */
export interface Cycle {
  edgeIndex: number;
  nodes: string[];
}

/**
 * The shape of a workflow: who leads to whom. Built by validation from whatever edges make sense (so it
 * may have cycles) and by compilation from a valid spec (so it has none). Node order is document order,
 * which makes every listing below deterministic.
 */
export class SpecGraph {
  readonly #outgoing = new Map<string, GraphEdge[]>();
  readonly #incoming = new Map<string, GraphEdge[]>();
  readonly #ancestors = new Map<string, ReadonlySet<string>>();

  constructor(
    readonly nodeIds: readonly string[],
    edges: readonly GraphEdge[],
  ) {
    for (const id of nodeIds) {
      this.#outgoing.set(id, []);
      this.#incoming.set(id, []);
    }
    for (const edge of edges) {
      this.#outgoing.get(edge.from)?.push(edge);
      this.#incoming.get(edge.to)?.push(edge);
    }
  }

  outgoing(id: string): readonly GraphEdge[] {
    return this.#outgoing.get(id) ?? [];
  }

  incoming(id: string): readonly GraphEdge[] {
    return this.#incoming.get(id) ?? [];
  }

  /** Every node with a path to `id`, `id` itself only when it is on a cycle. */
  ancestors(id: string): ReadonlySet<string> {
    let found = this.#ancestors.get(id);
    if (found === undefined) {
      found = this.#walk([id], (node) => this.incoming(node).map((edge) => edge.from));
      this.#ancestors.set(id, found);
    }
    return found;
  }

  /** Every node a path from one of `starts` reaches, the starts included. */
  reachableFrom(starts: readonly string[]): ReadonlySet<string> {
    const reached = this.#walk(starts, (node) => this.outgoing(node).map((edge) => edge.to));
    for (const start of starts) reached.add(start);
    return reached;
  }

  /**
   * One cycle per edge that closes one in a depth-first walk (a back edge), so each loop is reported once
   * and at an edge the author can remove. Iterative, so a huge junk spec cannot overflow the stack.
   */
  cycles(): Cycle[] {
    const cycles: Cycle[] = [];
    const state = new Map<string, 'open' | 'done'>();
    for (const root of this.nodeIds) {
      if (state.has(root)) continue;
      const path: { id: string; next: number }[] = [{ id: root, next: 0 }];
      state.set(root, 'open');
      while (path.length > 0) {
        const top = path[path.length - 1]!;
        const edge = this.outgoing(top.id)[top.next++];
        if (edge === undefined) {
          state.set(top.id, 'done');
          path.pop();
        } else if (state.get(edge.to) === 'open') {
          const start = path.findIndex((step) => step.id === edge.to);
          cycles.push({ edgeIndex: edge.index, nodes: [...path.slice(start).map((step) => step.id), edge.to] });
        } else if (!state.has(edge.to)) {
          state.set(edge.to, 'open');
          path.push({ id: edge.to, next: 0 });
        }
      }
    }
    return cycles.sort((a, b) => a.edgeIndex - b.edgeIndex);
  }

  /** Nodes so that every edge points forward (Kahn's order, starting from document order). Needs no cycles. */
  topologicalOrder(): string[] {
    const waitingOn = new Map(this.nodeIds.map((id) => [id, this.incoming(id).length]));
    const order: string[] = [];
    const ready = this.nodeIds.filter((id) => waitingOn.get(id) === 0);
    while (ready.length > 0) {
      const id = ready.shift()!;
      order.push(id);
      for (const edge of this.outgoing(id)) {
        const left = waitingOn.get(edge.to)! - 1;
        waitingOn.set(edge.to, left);
        if (left === 0) ready.push(edge.to);
      }
    }
    return order;
  }

  #walk(starts: readonly string[], next: (id: string) => string[]): Set<string> {
    const seen = new Set<string>();
    const queue = starts.flatMap(next);
    while (queue.length > 0) {
      const id = queue.pop()!;
      if (seen.has(id)) continue;
      seen.add(id);
      queue.push(...next(id));
    }
    return seen;
  }
}
