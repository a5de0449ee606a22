import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { EngineInstallationSchema, Executor_State, ExecutorSchema, NodeFactsSchema, type Executor, type NodeFacts } from '@foundation/contracts';
import type { ExecutorRecord, NodeFactsRecord } from './executor-store.js';

export function executorMessage(record: ExecutorRecord): Executor {
  return create(ExecutorSchema, {
    id: record.id,
    name: record.name,
    state: record.revokedAt ? Executor_State.REVOKED : record.online ? Executor_State.ONLINE : Executor_State.OFFLINE,
    lastSeenTime: record.lastSeenAt && timestampFromDate(record.lastSeenAt),
    facts: create(NodeFactsSchema, record.facts),
    engines: record.engines.map((e) => create(EngineInstallationSchema, e)),
    capacity: record.capacity,
    runningTasks: record.runningTasks,
    pairTime: timestampFromDate(record.pairedAt),
    revokeTime: record.revokedAt && timestampFromDate(record.revokedAt),
  });
}

export function nodeFactsRecord(facts: NodeFacts | undefined): NodeFactsRecord {
  return { hostname: facts?.hostname ?? '', os: facts?.os ?? '', arch: facts?.arch ?? '', agentVersion: facts?.agentVersion ?? '' };
}
