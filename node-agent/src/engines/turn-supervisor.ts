import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { EngineError_Code, TurnCompleted_Status, type AgentEvent } from '@foundation/contracts';
import { engineError, turnCompleted, type TurnCompletedInit } from './events.js';
import { LineFramer, type FramedLine } from './line-framer.js';
import { terminateGroup } from './process-group.js';
import { StderrTail } from './stderr-tail.js';
import { watchStopTriggers, type Stop } from './stop-triggers.js';
import { dispatchStdoutLine } from './stdout-line.js';
import type { EngineStdin, EventSink, TurnProtocol } from './turn-protocol.js';

/** The command line of one engine turn. */
export interface EngineLaunch {
  executable: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdin: 'ignore' | 'pipe';
}

export interface SupervisedTurn {
  launch: EngineLaunch;
  protocol: TurnProtocol;
  idleTimeoutMs: number;
  wallClockTimeoutMs: number;
  signal: AbortSignal;
  /** How long the engine gets to end by itself (after its terminal line, an interrupt or SIGTERM). */
  killGraceMs: number;
  emit: (event: AgentEvent) => void;
}

/**
 * Runs one engine turn in its own process group and owns everything the engines share: timeouts, cancel,
 * the kill of the whole group (grandchildren included), and the guarantee that exactly one TurnCompleted is
 * the last event. Resolves once nothing of the group runs any more; never rejects.
 */
export async function superviseTurn(turn: SupervisedTurn): Promise<void> {
  const startedAt = Date.now();
  const output = new TurnOutput(turn.emit);
  const finish = (init: TurnCompletedInit) => output.complete({ ...init, durationMs: BigInt(Date.now() - startedAt) });

  if (turn.signal.aborted) {
    finish({ status: TurnCompleted_Status.CANCELLED, reason: 'cancelled before the engine started' });
    return;
  }
  const started = await spawnInOwnGroup(turn.launch);
  if (started instanceof Error) {
    const reason = spawnFailureReason(turn.launch, started);
    output.emit(engineError(reason, EngineError_Code.SPAWN, true));
    finish({ status: TurnCompleted_Status.FAILED, reason });
    return;
  }
  const child = started;
  const pid = child.pid as number;
  const { protocol } = turn;
  const stdin = new PipeStdin(child.stdin);
  const framer = new LineFramer();
  const stderr = new StderrTail();

  let stop: Stop | undefined;
  let exited = false;
  const stopRequested = deferred();
  const finishedLine = deferred();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    }),
  );
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));

  // Once the engine printed its terminal line or exited, its own outcome stands.
  const requestStop = (request: Stop) => {
    if (stop !== undefined || exited || protocol.finished) return;
    stop = request;
    stopRequested.resolve();
  };
  const onLine = (line: FramedLine) => {
    dispatchStdoutLine(line, protocol, output);
    if (protocol.finished) finishedLine.resolve();
  };

  const triggers = watchStopTriggers(turn, requestStop);

  child.stdout?.on('data', (chunk: Buffer) => {
    triggers.outputSeen();
    for (const line of framer.push(chunk)) onLine(line);
  });
  child.stdout?.on('end', () => {
    const last = framer.end();
    if (last !== undefined) onLine(last);
  });
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));

  protocol.start(stdin, output);

  // The grace waits race the engine's exit; once the turn is over the ones still pending are cancelled, so
  // a stopping daemon is not kept alive by timers nobody waits for.
  const graceTimers = new AbortController();
  const grace = () => sleep(turn.killGraceMs, undefined, { signal: graceTimers.signal }).catch(() => undefined);
  try {
    const first = await Promise.race([
      exit.then(() => 'exited' as const),
      stopRequested.promise.then(() => 'stop' as const),
      finishedLine.promise.then(() => 'finished' as const),
    ]);
    if (first === 'stop' && protocol.interrupt !== undefined) {
      protocol.interrupt(stdin);
      await Promise.race([exit, finishedLine.promise, grace()]);
    }
    // Closing stdin is how a stream-json Claude learns there is no next turn; after its terminal line (even
    // one the interrupt brought) the engine gets the grace to exit by itself before any signal.
    stdin.close();
    if (protocol.finished) await Promise.race([exit, grace()]);
    triggers.dispose();

    // Whatever the leader did, nothing it started may outlive the turn.
    await terminateGroup(pid, turn.killGraceMs);
    await waitClosed(child, closed, grace);
    const { code, signal } = await exit;

    let completion: TurnCompletedInit;
    if (stop !== undefined) {
      if (stop.error !== undefined) output.emit(stop.error);
      completion = { status: stop.status, reason: stop.reason, engineSessionId: protocol.engineSessionId, resultText: protocol.resultText };
    } else {
      completion = protocol.completion({ code, signal, stderr: stderr.summary() });
    }
    finish({ ...completion, exitCode: code ?? undefined, signal: signal ?? '' });
  } finally {
    graceTimers.abort();
  }
}

/** Forwards events in order and makes the TurnCompleted the last one, exactly once. */
class TurnOutput implements EventSink {
  private completed = false;

  constructor(private readonly sink: (event: AgentEvent) => void) {}

  emit(event: AgentEvent): void {
    // Only the supervisor ends a turn: an engine protocol's own TurnCompleted would break "exactly once".
    if (this.completed || event.kind.case === 'turnCompleted') return;
    this.sink(event);
  }

  complete(init: TurnCompletedInit): void {
    if (this.completed) return;
    this.completed = true;
    this.sink(turnCompleted(init));
  }
}

/** The engine's stdin pipe; writes after the engine died (EPIPE) are dropped, not thrown. */
class PipeStdin implements EngineStdin {
  private open: boolean;

  constructor(private readonly pipe: Writable | null) {
    this.open = pipe !== null;
    pipe?.on('error', () => {
      this.open = false;
    });
  }

  writeLine(value: unknown): void {
    if (!this.open || this.pipe === null) return;
    this.pipe.write(`${JSON.stringify(value)}\n`);
  }

  close(): void {
    if (!this.open || this.pipe === null) return;
    this.open = false;
    this.pipe.end();
  }
}

async function spawnInOwnGroup(launch: EngineLaunch): Promise<ChildProcess | Error> {
  let child: ChildProcess;
  try {
    // detached: a new process group (setsid), so one signal reaches every process the engine starts.
    child = spawn(launch.executable, launch.args, {
      cwd: launch.cwd,
      env: launch.env,
      stdio: [launch.stdin, 'pipe', 'pipe'],
      detached: true,
    });
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  return new Promise((resolve) => {
    child.once('spawn', () => resolve(child));
    child.once('error', (error) => resolve(error));
  });
}

function spawnFailureReason(launch: EngineLaunch, error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  // spawn reports a missing working directory as a missing executable.
  if (code === 'ENOENT' && !existsSync(launch.cwd)) return `the working directory ${launch.cwd} does not exist`;
  if (code === 'ENOENT') {
    return isAbsolute(launch.executable)
      ? `the executable ${launch.executable} does not exist`
      : `the executable "${launch.executable}" was not found on PATH (${launch.env['PATH'] ?? ''})`;
  }
  if (code === 'EACCES') return `the executable "${launch.executable}" is not executable`;
  return `could not start "${launch.executable}": ${error.message}`;
}

/**
 * Waits for stdout and stderr to close. A process that left the group (setsid) can still hold them open;
 * after the grace they are destroyed so the turn ends anyway.
 */
async function waitClosed(child: ChildProcess, closed: Promise<void>, grace: () => Promise<void>): Promise<void> {
  const outcome = await Promise.race([closed.then(() => 'closed' as const), grace().then(() => 'late' as const)]);
  if (outcome === 'closed') return;
  child.stdout?.destroy();
  child.stderr?.destroy();
  await Promise.race([closed, grace()]);
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}
