import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AgentReply, AgentRequest, Envelope } from './agent-messages.js';

type ReplyTo<K extends AgentReply['kind']> = Extract<AgentReply, { kind: K }>;

/** bench/agent-nodes.ts in a process of its own, asked one thing at a time over IPC. */
export class AgentNodesProcess {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, { resolve: (reply: AgentReply) => void; reject: (error: Error) => void }>();
  #nextId = 1;

  constructor(baseUrl: string) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./agent-nodes.ts', import.meta.url))], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, BENCH_BASE_URL: baseUrl },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (reply: Envelope<AgentReply>) => {
      this.#waiting.get(reply.id)?.resolve(reply);
      this.#waiting.delete(reply.id);
    });
    this.#child.on('exit', (code) => {
      for (const { reject } of this.#waiting.values()) reject(new Error(`the nodes' process exited with ${code}`));
      this.#waiting.clear();
    });
  }

  /** Its pid, for the CPU accounting (its CPU is the client's, not the server's). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  ask<K extends AgentReply['kind']>(request: AgentRequest, expect: K): Promise<ReplyTo<K>> {
    const id = this.#nextId++;
    return new Promise<AgentReply>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#child.send({ ...request, id } satisfies Envelope<AgentRequest>);
    }).then((reply) => {
      if (reply.kind !== expect) throw new Error(`asked ${request.kind}, got ${reply.kind}`);
      return reply as ReplyTo<K>;
    });
  }

  close(): void {
    this.#child.disconnect();
  }
}
