import { Code, ConnectError } from '@connectrpc/connect';
import type { NodeConnection } from './node-connection.js';

/** The streams this brain instance holds, by node and by organization. */
export class ConnectionRegistry {
  readonly #byExecutor = new Map<string, NodeConnection>();
  readonly #byOrg = new Map<string, Set<NodeConnection>>();

  get(executorId: string): NodeConnection | undefined {
    return this.#byExecutor.get(executorId);
  }

  ofOrg(orgId: string): NodeConnection[] {
    return [...(this.#byOrg.get(orgId) ?? [])];
  }

  /** Holds `connection` for its node; an older stream of the node here ends with ALREADY_EXISTS. */
  register(connection: NodeConnection): void {
    this.#byExecutor.get(connection.executorId)?.end(replacedError());
    this.#byExecutor.set(connection.executorId, connection);
    let org = this.#byOrg.get(connection.orgId);
    if (!org) this.#byOrg.set(connection.orgId, (org = new Set()));
    org.add(connection);
  }

  unregister(connection: NodeConnection): void {
    if (this.#byExecutor.get(connection.executorId) === connection) this.#byExecutor.delete(connection.executorId);
    const org = this.#byOrg.get(connection.orgId);
    org?.delete(connection);
    if (org?.size === 0) this.#byOrg.delete(connection.orgId);
  }
}

/** How the older stream of a node ends when the node connects again. */
export function replacedError(): ConnectError {
  return new ConnectError('this node opened a newer stream; this one is closed', Code.AlreadyExists);
}
