import { closeSync, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { create, fromJsonString, toJsonString } from '@bufbuild/protobuf';
import { timestampNow } from '@bufbuild/protobuf/wkt';
import { MAX_EVENTS_PER_MESSAGE } from '@foundation/agent-engines';
import { AgentEventSchema, TaskEventSchema, type AgentEvent, type TaskEvent } from '@foundation/contracts';
import { failedTurn, isTurnCompleted, truncatedEvent } from './synthetic-events.js';

/** An event whose JSON is larger than this is replaced by a truncated RawEvent, so it fits one stream message. */
const MAX_EVENT_BYTES = 1024 * 1024;
/** Bytes of events per TaskEvents message, well under the brain's 4 MiB message limit. */
const MAX_BATCH_BYTES = 2 * 1024 * 1024;
/** Rewrite a task's file once this many acknowledged bytes sit at its head. */
const COMPACT_AFTER_BYTES = 1024 * 1024;

/** A task as Hello reports it after a reconnect or a restart. */
export interface HeldTaskState {
  taskId: string;
  leaseToken: string;
  lastSeq: bigint;
  /** False once the turn's TurnCompleted is in the outbox: only delivery remains. */
  running: boolean;
}

interface PendingEvent {
  event: TaskEvent;
  bytes: number;
}

interface TaskOutbox {
  taskId: string;
  leaseToken: string;
  running: boolean;
  lastSeq: bigint;
  ackedSeq: bigint;
  /** The last seq handed to the current connection; rewound to `ackedSeq` on every new connection. */
  sentSeq: bigint;
  /** Unacknowledged events, oldest first. */
  pending: PendingEvent[];
  pendingBytes: number;
  /** Bytes of the events file, acknowledged head included until the next compaction. */
  fileBytes: number;
  fd: number;
}

/** What `state.json` holds; the events file holds the rest. */
interface TaskStateFile {
  taskId: string;
  leaseToken: string;
  running: boolean;
  ackedSeq: string;
}

export interface EventOutboxOptions {
  /** `<data dir>/outbox`: one directory per task. */
  dir: string;
  /** Unacknowledged event bytes one task may hold; past it `append` refuses (see `append`). */
  maxBytesPerTask: number;
}

/**
 * Every event of every task, written to disk before it is sent and kept until the brain acknowledges it.
 * Each task has a directory with an append-only `events.jsonl` (one TaskEvent as protobuf JSON per line,
 * seq 1, 2, 3, … assigned here) and a `state.json` (lease token, acknowledged seq, whether the turn still
 * runs). After a reconnect the events after the acknowledged seq are sent again; after a restart of the
 * daemon they are read back. Writes are synchronous so an event is on disk, in order, before anything can
 * send it; they survive the daemon's death, not the machine's power loss (no fsync per event).
 */
export class EventOutbox {
  private readonly tasks = new Map<string, TaskOutbox>();
  private readonly listeners = new Set<() => void>();

  private constructor(private readonly options: EventOutboxOptions) {}

  /** Opens the outbox and reads back what a previous daemon left in it. */
  static open(options: EventOutboxOptions): EventOutbox {
    const outbox = new EventOutbox(options);
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    for (const entry of readdirSync(options.dir, { withFileTypes: true })) {
      if (entry.isDirectory()) outbox.load(entry.name);
    }
    return outbox;
  }

  /** Called after every change that may leave something to send. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Ends every turn a previous daemon left running: its engine died with that daemon. The synthetic
   * TurnCompleted(FAILED) goes after the events it had buffered, so the platform sees how far it got.
   */
  failInterruptedTurns(reason: string): string[] {
    const interrupted = [...this.tasks.values()].filter((task) => task.running);
    for (const task of interrupted) this.append(task.taskId, failedTurn(reason));
    return interrupted.map((task) => task.taskId);
  }

  /** Starts a task's outbox; its first event gets seq 1. */
  begin(taskId: string, leaseToken: string): void {
    if (this.tasks.has(taskId)) throw new Error(`the outbox already holds task ${taskId}`);
    const dir = this.taskDir(taskId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const task: TaskOutbox = {
      taskId,
      leaseToken,
      running: true,
      lastSeq: 0n,
      ackedSeq: 0n,
      sentSeq: 0n,
      pending: [],
      pendingBytes: 0,
      fileBytes: 0,
      fd: openSync(join(dir, 'events.jsonl'), 'a', 0o600),
    };
    this.tasks.set(taskId, task);
    this.writeState(task);
  }

  has(taskId: string): boolean {
    return this.tasks.has(taskId);
  }

  /**
   * Writes the next event of the task and returns its seq, or undefined when the task's unacknowledged
   * events would pass the bound (nothing is written then: the caller ends the turn with a TurnCompleted,
   * which is always accepted so the platform learns why). An event too large for one stream message is
   * replaced by a truncated RawEvent.
   */
  append(taskId: string, agentEvent: AgentEvent): bigint | undefined {
    const task = this.tasks.get(taskId);
    if (task === undefined || !task.running) return undefined;
    const terminal = isTurnCompleted(agentEvent);
    const seq = task.lastSeq + 1n;
    let event = create(TaskEventSchema, { seq, time: timestampNow(), event: agentEvent });
    let line = toJsonString(TaskEventSchema, event);
    let bytes = Buffer.byteLength(line) + 1;
    if (bytes > MAX_EVENT_BYTES + 1) {
      event = create(TaskEventSchema, { seq, time: event.time, event: truncatedEvent(toJsonString(AgentEventSchema, agentEvent), 64 * 1024) });
      line = toJsonString(TaskEventSchema, event);
      bytes = Buffer.byteLength(line) + 1;
    }
    if (!terminal && task.pendingBytes + bytes > this.options.maxBytesPerTask) return undefined;
    writeSync(task.fd, `${line}\n`);
    task.lastSeq = seq;
    task.pending.push({ event, bytes });
    task.pendingBytes += bytes;
    task.fileBytes += bytes;
    if (terminal) {
      task.running = false;
      this.writeState(task);
    }
    this.changed();
    return seq;
  }

  /** The brain persisted every event of the task up to `seq`: drop them, and the task once all is delivered. */
  ack(taskId: string, seq: bigint): void {
    const task = this.tasks.get(taskId);
    if (task === undefined || seq <= task.ackedSeq) return;
    const acked = seq > task.lastSeq ? task.lastSeq : seq;
    task.ackedSeq = acked;
    if (task.sentSeq < acked) task.sentSeq = acked;
    while (task.pending.length > 0 && task.pending[0]!.event.seq <= acked) {
      task.pendingBytes -= task.pending.shift()!.bytes;
    }
    if (!task.running && task.pending.length === 0) {
      this.forget(taskId);
      return;
    }
    this.writeState(task);
    if (task.pending.length === 0) {
      ftruncateSync(task.fd, 0);
      task.fileBytes = 0;
    } else if (task.fileBytes - task.pendingBytes > COMPACT_AFTER_BYTES) {
      this.compact(task);
    }
  }

  /** Deletes the task and its files (delivered, or the brain says the node no longer holds it). */
  forget(taskId: string): void {
    const task = this.tasks.get(taskId);
    if (task === undefined) return;
    closeSync(task.fd);
    this.tasks.delete(taskId);
    rmSync(this.taskDir(taskId), { recursive: true, force: true });
  }

  /** Every task not yet delivered, for Hello. */
  heldTasks(): HeldTaskState[] {
    return [...this.tasks.values()].map(({ taskId, leaseToken, lastSeq, running }) => ({ taskId, leaseToken, lastSeq, running }));
  }

  leaseToken(taskId: string): string | undefined {
    return this.tasks.get(taskId)?.leaseToken;
  }

  /** A new connection starts from what the brain acknowledged; everything after is sent again. */
  rewind(): void {
    for (const task of this.tasks.values()) task.sentSeq = task.ackedSeq;
  }

  /**
   * The next events of one task to send on this connection, oldest first (at most 256 and about 2 MiB),
   * marked sent, taking the tasks in turn; undefined when every task is sent up to its last event.
   */
  takeNextBatch(): { taskId: string; leaseToken: string; events: TaskEvent[] } | undefined {
    for (const task of this.tasks.values()) {
      if (task.sentSeq >= task.lastSeq) continue;
      const events: TaskEvent[] = [];
      let bytes = 0;
      for (const pending of task.pending) {
        if (pending.event.seq <= task.sentSeq) continue;
        if (events.length === MAX_EVENTS_PER_MESSAGE || (events.length > 0 && bytes + pending.bytes > MAX_BATCH_BYTES)) break;
        events.push(pending.event);
        bytes += pending.bytes;
      }
      task.sentSeq = events[events.length - 1]!.seq;
      // To the back of the line, so one task streaming without pause cannot hold back the others.
      this.tasks.delete(task.taskId);
      this.tasks.set(task.taskId, task);
      return { taskId: task.taskId, leaseToken: task.leaseToken, events };
    }
    return undefined;
  }

  /** Closes the open files; the outbox stays on disk for the next daemon. */
  close(): void {
    for (const task of this.tasks.values()) closeSync(task.fd);
    this.tasks.clear();
  }

  /**
   * The tasks a stopped daemon left in the outbox directory, read without changing anything (for
   * `doctor`, which must not touch the files a daemon may be about to open).
   */
  static peekHeldTasks(dir: string): HeldTaskState[] {
    if (!existsSync(dir)) return [];
    const held: HeldTaskState[] = [];
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const stored = entry.isDirectory() ? readTaskDir(join(dir, entry.name)) : undefined;
      if (stored === undefined || (!stored.state.running && stored.pending.length === 0)) continue;
      held.push({ taskId: stored.state.taskId, leaseToken: stored.state.leaseToken, lastSeq: stored.lastSeq, running: stored.state.running });
    }
    return held;
  }

  private load(taskId: string): void {
    const dir = this.taskDir(taskId);
    const stored = readTaskDir(dir);
    if (stored === undefined) {
      // A crash between creating the directory and writing its state: nothing was ever sent.
      rmSync(dir, { recursive: true, force: true });
      return;
    }
    const fd = openSync(join(dir, 'events.jsonl'), 'a', 0o600);
    if (stored.tornBytes > 0) ftruncateSync(fd, fstatSync(fd).size - stored.tornBytes);
    const ackedSeq = BigInt(stored.state.ackedSeq);
    const task: TaskOutbox = {
      taskId: stored.state.taskId,
      leaseToken: stored.state.leaseToken,
      running: stored.state.running,
      lastSeq: stored.lastSeq,
      ackedSeq,
      sentSeq: ackedSeq,
      pending: stored.pending,
      pendingBytes: stored.pending.reduce((sum, p) => sum + p.bytes, 0),
      fileBytes: fstatSync(fd).size,
      fd,
    };
    this.tasks.set(taskId, task);
    if (!task.running && task.pending.length === 0) this.forget(taskId);
  }

  private compact(task: TaskOutbox): void {
    const path = join(this.taskDir(task.taskId), 'events.jsonl');
    const temporary = `${path}.tmp`;
    writeFileSync(temporary, task.pending.map((p) => `${toJsonString(TaskEventSchema, p.event)}\n`).join(''), { mode: 0o600 });
    renameSync(temporary, path);
    closeSync(task.fd);
    task.fd = openSync(path, 'a', 0o600);
    task.fileBytes = task.pendingBytes;
  }

  private writeState(task: TaskOutbox): void {
    const state: TaskStateFile = { taskId: task.taskId, leaseToken: task.leaseToken, running: task.running, ackedSeq: task.ackedSeq.toString() };
    const path = join(this.taskDir(task.taskId), 'state.json');
    writeFileSync(`${path}.tmp`, JSON.stringify(state), { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  }

  private taskDir(taskId: string): string {
    return join(this.options.dir, taskId);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

interface StoredTask {
  state: TaskStateFile;
  lastSeq: bigint;
  /** Events after the acknowledged seq. */
  pending: PendingEvent[];
  /** Bytes of a last line cut short by a crash mid-write. */
  tornBytes: number;
}

/** A task directory as a previous daemon left it; undefined when it has no state file yet. */
function readTaskDir(dir: string): StoredTask | undefined {
  const statePath = join(dir, 'state.json');
  if (!existsSync(statePath)) return undefined;
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as TaskStateFile;
  const eventsPath = join(dir, 'events.jsonl');
  const text = existsSync(eventsPath) ? readFileSync(eventsPath, 'utf8') : '';
  // A line cut short by a crash mid-write was never sent: it is dropped.
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  const ackedSeq = BigInt(state.ackedSeq);
  const pending: PendingEvent[] = [];
  let lastSeq = ackedSeq;
  for (const line of complete.split('\n')) {
    if (line === '') continue;
    const event = fromJsonString(TaskEventSchema, line);
    if (event.seq > lastSeq) lastSeq = event.seq;
    if (event.seq > ackedSeq) pending.push({ event, bytes: Buffer.byteLength(line) + 1 });
  }
  return { state, lastSeq, pending, tornBytes: Buffer.byteLength(text) - Buffer.byteLength(complete) };
}
