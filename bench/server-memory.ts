import { Session } from 'node:inspector/promises';

/** This process's memory, in bytes. */
export interface MemorySample {
  rss: number;
  /** Live objects on the V8 heap. */
  heapUsed: number;
  /** Memory of C++ objects bound to JavaScript ones (buffers, HTTP/2 sessions' JS-visible parts). */
  external: number;
}

/**
 * The memory of this process once garbage is collected, so that a difference between two samples is what
 * stayed alive in between, not what was waiting for the collector. Through the inspector, which needs no
 * `--expose-gc` on the command line that `npm run bench` uses.
 */
export async function memoryAfterGc(): Promise<MemorySample> {
  const session = new Session();
  session.connect();
  try {
    // Twice: the first pass runs finalizers (of sockets, streams) whose objects the second one frees.
    await session.post('HeapProfiler.collectGarbage');
    await session.post('HeapProfiler.collectGarbage');
  } finally {
    session.disconnect();
  }
  const { rss, heapUsed, external } = process.memoryUsage();
  return { rss, heapUsed, external };
}
