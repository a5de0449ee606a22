import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { ConnectError, type ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { TaskService, type CancelTaskRequest, type StartTaskRequest } from '@foundation/contracts';

/**
 * A stand-in for the brain's TaskService over real gRPC: it records every call and answers as the test
 * says, so the session service is tested through its real client without nodes.
 */
export class FakeBrain {
  readonly started: StartTaskRequest[] = [];
  readonly cancelled: CancelTaskRequest[] = [];
  /** What StartTask answers next: a node id ("" = waiting for one) or an error to throw. */
  startAnswer: string | ConnectError = '';
  /** An error CancelTask throws, if any. */
  cancelError: ConnectError | undefined;
  /** Runs inside CancelTask before it answers: a moment for a test to race the cancellation. */
  duringCancel: ((req: CancelTaskRequest) => Promise<void>) | undefined;
  #server = http2.createServer(
    connectNodeAdapter({
      routes: (router: ConnectRouter) =>
        router.service(TaskService, {
          startTask: (req) => {
            this.started.push(req);
            if (this.startAnswer instanceof ConnectError) throw this.startAnswer;
            return { executorId: this.startAnswer };
          },
          cancelTask: async (req) => {
            this.cancelled.push(req);
            await this.duringCancel?.(req);
            if (this.cancelError) throw this.cancelError;
            return {};
          },
        }),
    }),
  );

  readonly #sessions = new Set<http2.ServerHttp2Session>();

  async listen(): Promise<string> {
    this.#server.on('session', (session: http2.ServerHttp2Session) => {
      this.#sessions.add(session);
      session.on('close', () => this.#sessions.delete(session));
    });
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** The StartTask request of `taskId`. */
  startOf(taskId: string): StartTaskRequest | undefined {
    return this.started.find((s) => s.taskId === taskId);
  }

  reset(): void {
    this.started.length = 0;
    this.cancelled.length = 0;
    this.startAnswer = '';
    this.cancelError = undefined;
    this.duringCancel = undefined;
  }

  /** Stops answering: open connections are cut, so the session service sees the brain gone. */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const session of this.#sessions) session.destroy();
    return closed;
  }
}
