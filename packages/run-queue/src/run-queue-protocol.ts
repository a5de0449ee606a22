/**
 * What the workflow service (producer) and the execution workers (consumers) agree on. Redis carries ids
 * only: PostgreSQL, through the workflow service, holds every run's content.
 */

/** The BullMQ queue of runs to execute; a job's id is its run's id. */
export const RUN_QUEUE_NAME = 'workflow-runs';

/** BullMQ's key prefix, so Foundation's keys are recognisable in a shared Redis. */
export const RUN_QUEUE_PREFIX = 'foundation';

/** A run job's data: the org is needed to open the run's tenant scope. */
export interface RunJobData {
  orgId: string;
}

/** Pub/sub channel on which the workflow service announces a cancelled run's id to every worker. */
export const RUN_CANCEL_CHANNEL = 'foundation:workflow:run-cancel';
