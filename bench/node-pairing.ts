import { pairNode, type TestPlatform } from '@foundation/testing';

/** Pairings under way at once: enough to keep the server busy, few enough not to time out. */
const PAIRINGS_IN_FLIGHT = 16;

/** Pairs `count` nodes through the API (pairNode: an admin's code, redeemed by the node); returns their credentials. */
export async function pairNodes(platform: TestPlatform, asAdmin: { headers: Record<string, string> }, count: number, prefix: string): Promise<string[]> {
  const credentials: string[] = [];
  let next = 0;
  const pairOne = async () => {
    while (next < count) credentials.push((await pairNode(platform.grpc, asAdmin, `${prefix}-${next++}`)).credential);
  };
  await Promise.all(Array.from({ length: PAIRINGS_IN_FLIGHT }, pairOne));
  return credentials;
}
