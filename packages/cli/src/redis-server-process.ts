import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import { findFreePort } from '@foundation/db';

export interface RedisServerOptions {
  /** Where Redis keeps its append-only file; omit for a throwaway server that keeps nothing. */
  dataDir?: string;
  port?: number;
}

export interface RedisServerProcess {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export class RedisServerMissingError extends Error {
  override readonly name = 'RedisServerMissingError';
  constructor() {
    super(
      'no redis-server on PATH. Install one (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis) ' +
        'or point Foundation at a running Redis with FOUNDATION_REDIS_URL=redis://host:6379',
    );
  }
}

/**
 * Starts a private `redis-server` from PATH on 127.0.0.1 and a free port, for `npm start` and the tests,
 * so neither touches a Redis the machine already runs. Resolves once it answers PING.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerProcess> {
  if (spawnSync('redis-server', ['--version']).error) throw new RedisServerMissingError();
  const port = options.port ?? (await findFreePort());
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--protected-mode', 'yes'];
  if (options.dataDir) {
    await mkdir(options.dataDir, { recursive: true });
    args.push('--dir', options.dataDir, '--appendonly', 'yes');
  } else {
    args.push('--appendonly', 'no');
  }
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // A process that ends without stop() (mocha's --exit after a failed hook, a crash) must not leave its
  // private server running with nobody to stop it. Redis shuts down cleanly on SIGTERM.
  const stopAtExit = () => child.kill('SIGTERM');
  process.once('exit', stopAtExit);
  child.once('exit', () => process.off('exit', stopAtExit));
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  await waitUntilAnswering(port, child, output);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => stopProcess(child),
  };
}

async function waitUntilAnswering(port: number, child: ChildProcess, output: string[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}):\n${output.join('').slice(-2000)}`);
    if (await answersPing(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not answer on port ${port} within 10 s:\n${output.join('').slice(-2000)}`);
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
