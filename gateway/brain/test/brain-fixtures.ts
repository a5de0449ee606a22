import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { StartTaskRequestSchema, TaskService, type StartTaskRequest, type StartTaskResponse } from '@foundation/contracts';
import { SERVICE_TOKEN_HEADER, ServiceTokenIssuer } from '@foundation/kit';
import {
  inOrg,
  orgWithRoles,
  pairNode,
  SimulatedNode,
  startTestPlatform,
  type OrgWithRoles,
  type PairedNode,
  type SimulatedNodeOptions,
  type TestPlatform,
} from '@foundation/testing';

/** Heartbeats fast enough that liveness tests take a second, not thirty. */
export const TEST_HEARTBEAT_MS = 300;

export interface BrainBench {
  platform: TestPlatform;
  a: OrgWithRoles;
  b: OrgWithRoles;
  asAdmin(org?: OrgWithRoles): ReturnType<typeof inOrg>;
  asMember(org?: OrgWithRoles): ReturnType<typeof inOrg>;
  /** Pairs a new node in `org` (org A by default) and returns its id and credential. */
  pair(org?: OrgWithRoles, name?: string): Promise<PairedNode>;
  /** Opens a Connect stream as a node; closed by `close`. */
  connect(options: Omit<SimulatedNodeOptions, 'baseUrl'>): SimulatedNode;
  /** Calls TaskService as the session service does (service token, caller "session"). */
  startTask(request: StartTaskRequest): Promise<StartTaskResponse>;
  cancelTask(orgId: string, taskId: string): Promise<unknown>;
  /** Drops every node connection opened so far. */
  dropNodes(): Promise<void>;
  close(): Promise<void>;
}

/** A platform with two orgs (A and B, each with an owner, admin and member) and helpers to act as nodes. */
export async function startBrainBench(env: Record<string, string> = {}): Promise<BrainBench> {
  const platform = await startTestPlatform({
    env: { FOUNDATION_BRAIN_HEARTBEAT_INTERVAL: `${TEST_HEARTBEAT_MS}ms`, FOUNDATION_TASK_SWEEP_INTERVAL: '200ms', ...env },
  });
  const [a, b] = await Promise.all([orgWithRoles(platform.grpc), orgWithRoles(platform.grpc)]);
  const nodes: SimulatedNode[] = [];
  const tasks = createClient(TaskService, createGrpcTransport({ baseUrl: platform.baseUrl }));
  const asSession = async () => ({
    headers: { [SERVICE_TOKEN_HEADER]: await new ServiceTokenIssuer(platform.serviceKey, 'session').tokenFor(TaskService.typeName) },
  });
  const bench: BrainBench = {
    platform,
    a,
    b,
    asAdmin: (org = a) => inOrg(org.admin, org.org.id),
    asMember: (org = a) => inOrg(org.member, org.org.id),
    pair: (org = a, name) => pairNode(platform.grpc, inOrg(org.admin, org.org.id), name),
    connect: (options) => {
      const node = new SimulatedNode({ baseUrl: platform.baseUrl, ...options });
      nodes.push(node);
      return node;
    },
    startTask: async (request) => tasks.startTask(request, await asSession()),
    cancelTask: async (orgId, taskId) => tasks.cancelTask({ orgId, taskId }, await asSession()),
    dropNodes: async () => {
      await Promise.all(nodes.splice(0).map((n) => n.kill()));
    },
    close: async () => {
      await bench.dropNodes();
      await platform.close();
    },
  };
  return bench;
}

/** A StartTask request for Claude Code in org `orgId`, with a fresh task id. */
export function taskRequest(orgId: string, overrides: Partial<Omit<StartTaskRequest, '$typeName' | '$unknown'>> = {}): StartTaskRequest {
  return create(StartTaskRequestSchema, { orgId, taskId: randomUUID(), engine: 'gateway.claude.v2', workspace: 'my-repo', prompt: 'fix the tests', ...overrides });
}
