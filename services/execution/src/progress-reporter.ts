import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampNow } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, type Client } from '@connectrpc/connect';
import {
  NodeCheckpointSchema,
  ProgressEventSchema,
  RunFinishSchema,
  type NodeCheckpoint,
  type ProgressEvent,
  type RunFinish,
  type RunProgressService,
} from '@foundation/contracts';
import { reasonOf, type Logger } from '@foundation/kit';
import { reportBatches, type ReportBatch } from './report-batches.js';

type EventInit = Omit<MessageInitShape<typeof ProgressEventSchema>, 'time' | '$typeName'>;
type CheckpointInit = Omit<MessageInitShape<typeof NodeCheckpointSchema>, '$typeName'>;
type FinishInit = Omit<MessageInitShape<typeof RunFinishSchema>, '$typeName'>;

export interface ReporterOptions {
  runId: string;
  orgId: string;
  leaseToken: string;
  /** An empty report is sent this often while nothing else is, to keep the lease. */
  heartbeatMs: number;
  /** A user asked to cancel the run. */
  onCancelRequested(): void;
  /** Another worker took the run, or it ended: stop working on it. */
  onLeaseLost(): void;
}

const RETRY_DELAYS_MS = [100, 250, 500, 1000, 2000];
/**
 * How long reported events wait for company before they are sent. A run whose nodes all finish within it
 * (transforms, conditions) is reported in its final request alone; watchers see a long node's events this
 * much later at most.
 */
const COALESCE_MS = 25;

/**
 * Sends a run's progress to the workflow service in batches: whatever was reported while the previous
 * request was in flight, or within COALESCE_MS, goes in the next one (group commit), so a fast run costs
 * few round trips and events keep their order; a batch too large for one request goes as several
 * (`reportBatches`). Transient failures are retried with the same events; their keys make the retry
 * harmless. Every report extends the lease; a heartbeat does when nothing else is sent.
 */
export class ProgressReporter {
  #events: ProgressEvent[] = [];
  #checkpoints: NodeCheckpoint[] = [];
  #sending: Promise<void> = Promise.resolve();
  #scheduled = false;
  /** Send what is pending without waiting for company (a flush, the finish, a heartbeat). */
  #urgent = false;
  /** A heartbeat asked for a report even with nothing to say, to extend the lease. */
  #heartbeatDue = false;
  #wake: (() => void) | undefined;
  #finishing = false;
  #lost = false;
  #lastSentAt = Date.now();
  readonly #heartbeat: NodeJS.Timeout;

  constructor(
    private readonly client: Client<typeof RunProgressService>,
    private readonly options: ReporterOptions,
    private readonly log: Logger,
  ) {
    this.#heartbeat = setInterval(() => {
      if (Date.now() - this.#lastSentAt >= options.heartbeatMs) this.#schedule(true);
    }, Math.max(50, Math.floor(options.heartbeatMs / 2)));
    this.#heartbeat.unref();
  }

  get leaseLost(): boolean {
    return this.#lost;
  }

  event(event: EventInit): void {
    this.#events.push(create(ProgressEventSchema, { ...event, time: timestampNow() }));
    this.#schedule(false);
  }

  checkpoint(checkpoint: CheckpointInit): void {
    this.#checkpoints.push(create(NodeCheckpointSchema, checkpoint));
    this.#schedule(false);
  }

  /** Resolves once everything reported so far is stored (or the lease is lost). */
  async flush(): Promise<void> {
    this.#schedule(false);
    this.#hurry();
    await this.#sending;
  }

  /** Sends what is pending together with the run's end, in one request when it fits; resolves once stored. */
  async finish(finish: FinishInit): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#finishing = true;
    this.#hurry();
    this.#sending = this.#sending.then(() => this.#send(create(RunFinishSchema, finish)));
    await this.#sending;
  }

  /** Stops the heartbeat without sending anything more (the run was lost). */
  stop(): void {
    clearInterval(this.#heartbeat);
  }

  #schedule(heartbeat: boolean): void {
    if (heartbeat) {
      this.#heartbeatDue = true;
      this.#urgent = true;
    }
    if (this.#scheduled || this.#lost) return;
    this.#scheduled = true;
    // Chained after the request in flight, then held up to COALESCE_MS, so everything reported meanwhile joins it.
    this.#sending = this.#sending.then(async () => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => this.#wake?.(), this.#urgent ? 0 : COALESCE_MS);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
      this.#scheduled = false;
      const heartbeatDue = this.#heartbeatDue;
      this.#urgent = false;
      this.#heartbeatDue = false;
      // The finish, queued behind this step, carries whatever is pending.
      if (this.#finishing) return;
      if (heartbeatDue || this.#events.length > 0 || this.#checkpoints.length > 0) await this.#send(undefined);
    });
  }

  /** Ends the wait of a scheduled send now (or makes the next one not wait). */
  #hurry(): void {
    this.#urgent = true;
    this.#wake?.();
  }

  /** Sends what is pending in batches that fit a request (the finish with the last); stops at a lost lease. */
  async #send(finish: RunFinish | undefined): Promise<void> {
    if (this.#lost) return;
    const batches = reportBatches(this.#events, this.#checkpoints);
    this.#events = [];
    this.#checkpoints = [];
    for (const [index, batch] of batches.entries()) {
      if (this.#lost) return;
      await this.#sendBatch(batch, index === batches.length - 1 ? finish : undefined);
    }
  }

  async #sendBatch({ events, checkpoints }: ReportBatch, finish: RunFinish | undefined): Promise<void> {
    const { runId, orgId, leaseToken } = this.options;
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.client.reportProgress({ runId, orgId, leaseToken, events, checkpoints, finish });
        this.#lastSentAt = Date.now();
        if (response.cancelRequested) this.options.onCancelRequested();
        return;
      } catch (e) {
        const error = ConnectError.from(e);
        if (reasonOf(error) === 'LEASE_LOST') {
          this.#lost = true;
          clearInterval(this.#heartbeat);
          this.options.onLeaseLost();
          return;
        }
        const delay = RETRY_DELAYS_MS[attempt];
        if (!isTransient(error) || delay === undefined) {
          this.log.error({ runId, error: error.message }, 'could not report run progress; giving the run up');
          this.#lost = true;
          clearInterval(this.#heartbeat);
          this.options.onLeaseLost();
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}

function isTransient(error: ConnectError): boolean {
  return error.code === Code.Unavailable || error.code === Code.DeadlineExceeded || error.code === Code.Unknown || error.code === Code.Aborted;
}
