export { RUN_CANCEL_CHANNEL, RUN_QUEUE_NAME, RUN_QUEUE_PREFIX, type RunJobData } from './run-queue-protocol.js';
export { QueueUnavailableError, RunQueue, type RunJobState } from './run-queue.js';
export { blockingConnection, commandConnection } from './redis-connections.js';
