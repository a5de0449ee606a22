// The node-agent's building blocks, for benchmarks and tests that drive a daemon in-process. The CLI
// (`bin/foundation-agent.js`) runs `main.ts`.
export { BrainConnection } from './brain-connection.js';
export type { BrainConnectionHandlers, BrainConnectionOptions, ConnectionEnd, ConnectionState } from './brain-connection.js';
export { runDaemon, DaemonAlreadyRunningError } from './daemon.js';
export type { DaemonOptions } from './daemon.js';
export { EventOutbox } from './event-outbox.js';
export type { EventOutboxOptions, HeldTaskState } from './event-outbox.js';
export { ReconnectBackoff } from './reconnect-backoff.js';
export { TaskRunner } from './task-runner.js';
export type { TaskRejection, TaskRunnerOptions } from './task-runner.js';
export { resolveTaskWorkspace, WorkspaceRefusedError } from './workspace-path.js';
export { PairingStore } from './pairing-store.js';
export type { Pairing } from './pairing-store.js';
