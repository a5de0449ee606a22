import { randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { TARGETS } from '@foundation/cli';
import { SignUpRequestSchema, SignUpResponseSchema } from '@foundation/contracts';
import { findFreePort } from '@foundation/db';
import { TEST_PASSWORD } from '@foundation/testing';
import { expect } from 'chai';
import { startExternalInfrastructure, type ExternalInfrastructure } from './support/external-infrastructure.js';
import { FoundationProcess, runFoundation } from './support/foundation-process.js';

/** A line of a Node stack trace, which a person fixing their configuration should never have to read. */
const STACK_FRAME = /^\s+at .+[(:]\d+/m;

describe('The foundation CLI', () => {
  describe('usage', () => {
    it('prints the usage for --help and exits 0', async () => {
      const run = await runFoundation(['--help']);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.contain('Usage:').and.contain('foundation start').and.contain('foundation migrate');
      expect(run.stdout).to.contain(`targets: ${TARGETS.join(', ')}, comma-separated`);
    });

    it('prints the usage of start for start --help and exits 0', async () => {
      const run = await runFoundation(['start', '--help']);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.contain(`foundation start [--target=all|${TARGETS.join('|')}[,…]]`);
    });

    it('prints the usage of secrets rotate-master-key for its --help and exits 0', async () => {
      const run = await runFoundation(['secrets', 'rotate-master-key', '--help']);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.contain('foundation secrets rotate-master-key').and.contain('FOUNDATION_MASTER_KEY_FILE').and.contain('DATABASE_URL');
    });

    it('lists the subcommands of secrets, and refuses an unknown one', async () => {
      const help = await runFoundation(['secrets', '--help']);
      expect(help.code, help.stderr).to.equal(0);
      expect(help.stdout).to.contain('rotate-master-key');
      const unknown = await runFoundation(['secrets', 'frobnicate']);
      expect(unknown.code).to.equal(2);
      expect(unknown.stderr).to.contain('unknown command "secrets frobnicate"');
    });

    it('refuses an unknown command with exit code 2 and the usage', async () => {
      const run = await runFoundation(['frobnicate']);
      expect(run.code).to.equal(2);
      expect(run.stderr).to.contain('unknown command "frobnicate"').and.contain('Usage:');
      expect(run.stderr).not.to.match(STACK_FRAME);
    });
  });

  describe('configuration errors', () => {
    it('stops at start on an unknown --target, naming the flag, without a stack trace', async () => {
      const run = await runFoundation(['start', '--target=nope']);
      expect(run.code, run.stderr).to.equal(2);
      expect(run.stderr).to.contain('--target').and.contain('"nope"');
      expect(run.stderr).not.to.match(STACK_FRAME);
    });

    const badValues: [string, string][] = [
      ['FOUNDATION_PORT', 'notaport'],
      ['FOUNDATION_ACCESS_TOKEN_TTL', 'ten minutes'],
      // A resync interval of 0 would resync without pause.
      ['FOUNDATION_SCHEDULE_RESYNC_INTERVAL', '0s'],
    ];
    for (const [variable, value] of badValues) {
      it(`stops at start when ${variable}=${JSON.stringify(value)}, naming the variable, without a stack trace`, async () => {
        const run = await runFoundation(['start'], { [variable]: value });
        expect(run.code, run.stderr).to.be.a('number').and.not.equal(0);
        expect(run.stderr).to.contain(variable).and.contain(JSON.stringify(value));
        expect(run.stderr).not.to.match(STACK_FRAME);
        expect(run.stdout).not.to.contain('listening');
      });
    }
  });

  describe('without a master key', () => {
    it('stops the secrets service on an operator\'s database, naming both variables, without a stack trace', async () => {
      const run = await runFoundation(['start', '--target=secrets'], {
        DATABASE_URL: 'postgres://owner:pw@127.0.0.1:1/foundation',
        FOUNDATION_DATABASE_APP_URL: 'postgres://app:pw@127.0.0.1:1/foundation',
        FOUNDATION_REDIS_URL: 'redis://127.0.0.1:1',
        FOUNDATION_MIGRATE_ON_START: 'false',
        FOUNDATION_SERVICE_KEY: 'k'.repeat(32),
      });
      expect(run.code, run.stderr).to.equal(2);
      expect(run.stderr).to.contain('FOUNDATION_MASTER_KEY_FILE').and.contain('FOUNDATION_MASTER_KEY ');
      expect(run.stderr).not.to.match(STACK_FRAME);
    });

    it('refuses to rotate a single FOUNDATION_MASTER_KEY in place', async () => {
      const run = await runFoundation(['secrets', 'rotate-master-key'], { FOUNDATION_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') });
      expect(run.code, run.stderr).to.equal(2);
      expect(run.stderr).to.contain('keyring file').and.contain('FOUNDATION_MASTER_KEY_FILE');
      expect(run.stderr).not.to.match(STACK_FRAME);
    });
  });

  describe('without Redis', () => {
    it('says how to get a redis-server when none is on PATH, before starting a database', async () => {
      const emptyPath = await mkdtemp(join(tmpdir(), 'foundation-no-redis-'));
      const dataDir = await mkdtemp(join(tmpdir(), 'foundation-data-'));
      try {
        const run = await runFoundation(['start'], { PATH: emptyPath, FOUNDATION_DATA_DIR: dataDir });
        expect(run.code, run.stderr).to.equal(2);
        expect(run.stderr).to.contain('no redis-server on PATH').and.contain('apt-get install -y redis-server').and.contain('FOUNDATION_REDIS_URL');
        expect(run.stderr).not.to.match(STACK_FRAME);
        expect(await readdir(dataDir)).to.deep.equal([]);
      } finally {
        await rm(emptyPath, { recursive: true, force: true });
        await rm(dataDir, { recursive: true, force: true });
      }
    });
  });

  describe('with an operator\'s PostgreSQL and Redis', () => {
    let infrastructure: ExternalInfrastructure;
    before(async function () {
      this.timeout(120_000);
      infrastructure = await startExternalInfrastructure();
    });
    after(() => infrastructure?.close());

    it('migrates with the app role of FOUNDATION_DATABASE_APP_URL and exits 0', async () => {
      const run = await runFoundation(['migrate'], infrastructure.env);
      expect(run.code, `${run.stderr}\n${run.stdout}`).to.equal(0);
      expect(run.stdout).to.contain('database schema is up to date');
    });

    it('rotates the master key of the keyring file as the schema owner and exits 0', async () => {
      const keyringFile = infrastructure.env.FOUNDATION_MASTER_KEY_FILE!;
      const before = JSON.parse(await readFile(keyringFile, 'utf8')) as { activeKeyId: string };
      const run = await runFoundation(['secrets', 'rotate-master-key'], infrastructure.env);
      expect(run.code, `${run.stderr}\n${run.stdout}`).to.equal(0);
      const after = JSON.parse(await readFile(keyringFile, 'utf8')) as { activeKeyId: string; keys: Record<string, string> };
      expect(Object.keys(after.keys)).to.have.members([before.activeKeyId, after.activeKeyId]);
      expect(run.stdout).to.contain(`master key ${after.activeKeyId} added`).and.contain(`every data key is wrapped by ${after.activeKeyId}`);
    });

    describe('start, then SIGTERM', () => {
      let foundation: FoundationProcess;
      let port: number;
      let baseUrl: string;

      before(async function () {
        this.timeout(120_000);
        port = await findFreePort();
        baseUrl = `http://127.0.0.1:${port}`;
        // Migrations run on start (the default), as a single-process deployment does.
        foundation = new FoundationProcess(['start', '--target=all'], {
          ...infrastructure.env,
          FOUNDATION_PORT: String(port),
          // Longer than the test waits for the exit: a process that exits at all did not sit out the grace period.
          FOUNDATION_SHUTDOWN_GRACE: '60s',
        });
        await foundation.waitUntilReady(baseUrl);
      });
      after(async function () {
        this.timeout(60_000);
        await foundation?.stop();
      });

      it('finishes the calls in flight, refuses new connections, exits 0 and frees the port', async function () {
        this.timeout(60_000);
        // A client that connected and never sent a byte must not hold the shutdown up.
        const silent = net.connect(port, '127.0.0.1');
        await new Promise((resolve, reject) => silent.once('connect', resolve).once('error', reject));
        silent.on('error', () => {});

        // Two calls whose bodies are half sent: in flight, whatever the timing, until the test completes them.
        const grpcCall = startGrpcSignUp(baseUrl, `sigterm-grpc-${randomUUID()}@example.com`);
        const connectCall = startConnectSignUp(baseUrl, `sigterm-connect-${randomUUID()}@example.com`);
        await Promise.all([grpcCall.started, connectCall.started]);

        foundation.kill('SIGTERM');
        await waitUntilRefused(port, 15_000, foundation);
        expect(foundation.running, 'the process exited with calls in flight').to.equal(true);

        grpcCall.finish();
        connectCall.finish();
        const [grpcResult, connectResult] = await Promise.all([grpcCall.result, connectCall.result]);
        expect(grpcResult.grpcStatus, grpcResult.grpcMessage).to.equal('0');
        expect(grpcResult.email).to.equal(grpcCall.email);
        expect(connectResult.status, connectResult.body).to.equal(200);
        expect(JSON.parse(connectResult.body)).to.have.nested.property('user.email', connectCall.email);

        const exit = await foundation.waitForExit(20_000);
        expect(exit, foundation.describe()).to.deep.equal({ code: 0, signal: null });
        expect(foundation.out).to.contain('"msg":"stopped"');
        expect(await isRefused(port)).to.equal(true);
        silent.destroy();
      });
    });
  });
});

interface InFlightCall<T> {
  email: string;
  /** Resolves once the request headers and half the body are on the wire. */
  started: Promise<void>;
  /** Sends the rest of the body. */
  finish(): void;
  result: Promise<T>;
}

/** A gRPC SignUp over a raw HTTP/2 connection whose body is sent in two halves. */
function startGrpcSignUp(baseUrl: string, email: string): InFlightCall<{ grpcStatus: string; grpcMessage: string; email: string }> {
  const message = toBinary(SignUpRequestSchema, create(SignUpRequestSchema, { email, password: TEST_PASSWORD, displayName: 'In Flight' }));
  const body = Buffer.alloc(5 + message.length);
  body.writeUInt32BE(message.length, 1);
  body.set(message, 5);
  const half = Math.floor(body.length / 2);

  const session = http2.connect(baseUrl);
  const stream = session.request({
    ':method': 'POST',
    ':path': '/foundation.auth.v1.AuthService/SignUp',
    'content-type': 'application/grpc+proto',
    te: 'trailers',
  });
  const started = new Promise<void>((resolve, reject) => {
    session.once('error', reject);
    stream.write(body.subarray(0, half), (e) => (e ? reject(e) : resolve()));
  });
  const result = new Promise<{ grpcStatus: string; grpcMessage: string; email: string }>((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('trailers', (trailers) => {
      const data = Buffer.concat(chunks);
      const email = data.length > 5 ? (fromBinary(SignUpResponseSchema, data.subarray(5)).user?.email ?? '') : '';
      resolve({ grpcStatus: String(trailers['grpc-status']), grpcMessage: decodeURIComponent(String(trailers['grpc-message'] ?? '')), email });
    });
    stream.on('close', () => {
      session.close();
      reject(new Error('the gRPC stream closed without trailers'));
    });
  });
  return { email, started, finish: () => stream.end(body.subarray(half)), result };
}

/** A Connect JSON SignUp over HTTP/1.1 whose body is streamed in two halves. */
function startConnectSignUp(baseUrl: string, email: string): InFlightCall<{ status: number; body: string }> {
  const body = Buffer.from(JSON.stringify({ email, password: TEST_PASSWORD, displayName: 'In Flight' }));
  const half = Math.floor(body.length / 2);
  let sendRest!: () => void;
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(body.subarray(0, half));
      sendRest = () => {
        controller.enqueue(body.subarray(half));
        controller.close();
      };
    },
  });
  const result = (async () => {
    const res = await fetch(new URL('/foundation.auth.v1.AuthService/SignUp', baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
      signal: AbortSignal.timeout(30_000),
    } as RequestInit);
    return { status: res.status, body: await res.text() };
  })();
  // fetch gives no event for "headers sent"; the server acknowledges nothing before the body ends either.
  // A moment on the loopback is ample for the headers and the first half to arrive.
  setTimeout(markStarted, 300);
  return { email, started, finish: () => sendRest(), result };
}

function isRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

/** Polls until the port refuses connections: the listener has stopped accepting. */
async function waitUntilRefused(port: number, timeoutMs: number, foundation: FoundationProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isRefused(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`port ${port} still accepted connections ${timeoutMs} ms after SIGTERM\n${foundation.describe()}`);
}
