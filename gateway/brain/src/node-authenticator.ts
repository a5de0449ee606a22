import { Code } from '@connectrpc/connect';
import { rpcError } from '@foundation/kit';
import type { CredentialOwner, ExecutorStore } from './executor-store.js';
import { hashNodeCredential, NODE_CREDENTIAL_PREFIX } from './node-credential.js';

/**
 * Checks the node credential of a Connect call (the kit's authentication interceptor passes ACCESS_NODE
 * RPCs through: only this registry knows node credentials). User, API and service tokens are not node
 * credentials and are refused like any wrong one.
 */
export class NodeAuthenticator {
  constructor(private readonly executors: ExecutorStore) {}

  async authenticate(headers: Headers): Promise<CredentialOwner> {
    const authorization = headers.get('authorization');
    if (!authorization) {
      throw rpcError(Code.Unauthenticated, 'CREDENTIAL_MISSING', 'Connect needs the node credential: send "Authorization: Bearer fnd_node_…" (run foundation-agent pair first)');
    }
    const credential = /^Bearer (\S+)$/.exec(authorization)?.[1];
    if (!credential?.startsWith(NODE_CREDENTIAL_PREFIX)) {
      throw rpcError(Code.Unauthenticated, 'CREDENTIAL_INVALID', 'the Authorization header must be "Bearer <node credential>", which starts with fnd_node_');
    }
    const owner = await this.executors.findByCredentialHash(hashNodeCredential(credential));
    if (!owner) throw rpcError(Code.Unauthenticated, 'CREDENTIAL_INVALID', 'this node credential is not known here: pair the node again');
    if (owner.revoked) throw revokedError();
    return owner;
  }
}

export function revokedError() {
  return rpcError(Code.Unauthenticated, 'NODE_REVOKED', 'this node was revoked by an organization admin: pair it again to reconnect');
}
