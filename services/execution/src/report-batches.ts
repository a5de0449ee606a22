import type { NodeCheckpoint, ProgressEvent } from '@foundation/contracts';

/** What one progress report carries besides its run, lease and finish. */
export interface ReportBatch {
  events: ProgressEvent[];
  checkpoints: NodeCheckpoint[];
}

/**
 * A report's size budget. A worker in a process of its own reports over the network, where the workflow
 * service refuses a request over its read limit (FOUNDATION_READ_MAX_BYTES, 4 MiB by default) with
 * RESOURCE_EXHAUSTED, which is not worth retrying: the run would be given up, and every recovery would
 * build the same report again. One node's output may be up to 1 MiB and travels twice (its node.succeeded
 * event and its checkpoint), so a few parallel nodes with large outputs would pass the limit together.
 */
export const REPORT_MAX_BYTES = 1024 * 1024;

/** Room for an item's key, type, node id and framing besides its JSON. */
const ITEM_OVERHEAD_BYTES = 512;

/**
 * Splits what is pending into batches of at most about `maxBytes`, events first and each list in its order,
 * so sending the batches one after another stores the events in the order they happened. An item larger
 * than `maxBytes` travels alone. There is always at least one batch: a heartbeat or a bare finish is sent too.
 */
export function reportBatches(events: ProgressEvent[], checkpoints: NodeCheckpoint[], maxBytes = REPORT_MAX_BYTES): ReportBatch[] {
  const batches: ReportBatch[] = [{ events: [], checkpoints: [] }];
  let bytes = 0;
  const add = (size: number, put: (batch: ReportBatch) => void) => {
    if (bytes > 0 && bytes + size > maxBytes) {
      batches.push({ events: [], checkpoints: [] });
      bytes = 0;
    }
    put(batches.at(-1)!);
    bytes += size;
  };
  for (const event of events) add(Buffer.byteLength(event.payloadJson) + ITEM_OVERHEAD_BYTES, (batch) => batch.events.push(event));
  for (const checkpoint of checkpoints) add(Buffer.byteLength(checkpoint.outputJson) + ITEM_OVERHEAD_BYTES, (batch) => batch.checkpoints.push(checkpoint));
  return batches;
}
