import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { NodeFactsSchema } from '@foundation/contracts';
import type { PlatformClients } from './test-platform.js';

/** A node paired in an organization: its executor id and credential. */
export interface PairedNode {
  executorId: string;
  credential: string;
}

/**
 * Pairs a new node the way `foundation-agent pair` does: an admin of the org creates a code (`asAdmin`
 * carries their credential and X-Org-Id), the node redeems it. The node has no engines until its Hello.
 */
export async function pairNode(clients: PlatformClients, asAdmin: { headers: Record<string, string> }, name = `node-${randomUUID().slice(0, 8)}`): Promise<PairedNode> {
  const { code } = await clients.pairing.createPairingCode({ label: name }, asAdmin);
  const paired = await clients.pairing.pair({
    code,
    name,
    facts: create(NodeFactsSchema, { hostname: name, os: 'linux', arch: 'x64', agentVersion: '0.1.0' }),
  });
  return { executorId: paired.executorId, credential: paired.credential };
}
