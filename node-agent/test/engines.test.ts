import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import {
  EngineError_Code,
  FileChange_Kind,
  PlanEntry_Status,
  ToolKind,
  ToolStatus,
  TurnCompleted_Status,
  type AgentEvent,
  type TurnCompleted,
} from '@foundation/contracts';
import type { EngineId } from '@foundation/agent-engines';
import { ClaudeAdapter } from '../src/engines/claude.js';
import { CodexAdapter } from '../src/engines/codex.js';
import type { EngineAdapter, EngineTurn } from '../src/engines/engine.js';
import { createEngineAdapters } from '../src/engines/index.js';
import { OpenCodeAdapter } from '../src/engines/opencode.js';
import { isProcessRunning } from '../src/engines/process-group.js';
import type { EngineAdapterOptions } from '../src/engines/cli-engine-adapter.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const KILL_GRACE_MS = 200;
const KEPT_BYTES = 64 * 1024;

interface TurnRecord {
  events: AgentEvent[];
  kinds: string[];
  completed: TurnCompleted;
}

interface RunOptions {
  scenario: string;
  turn?: Partial<EngineTurn>;
  env?: Record<string, string>;
  /** Cancels the turn when the first event of this kind arrives: the engine is then surely running. */
  cancelOn?: AgentEvent['kind']['case'];
}

/** The fake engines read their scenario from the environment the adapter passes on: the daemon's own. */
async function runScenario(adapter: EngineAdapter, options: RunOptions): Promise<TurnRecord> {
  const env = { FAKE_ENGINE_SCENARIO: options.scenario, ...options.env };
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  const events: AgentEvent[] = [];
  const cancel = new AbortController();
  try {
    await adapter.runTurn(
      {
        prompt: 'fix the note',
        cwd: workdir,
        idleTimeoutMs: 10_000,
        wallClockTimeoutMs: 20_000,
        signal: cancel.signal,
        ...options.turn,
      },
      (event) => {
        events.push(event);
        if (event.kind.case === options.cancelOn) cancel.abort();
      },
    );
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
  const kinds = events.map((event) => event.kind.case ?? 'none');
  expect(kinds.filter((kind) => kind === 'turnCompleted'), 'exactly one TurnCompleted').to.have.length(1);
  expect(kinds.at(-1), 'TurnCompleted is the last event').to.equal('turnCompleted');
  const last = events.at(-1)?.kind;
  if (last?.case !== 'turnCompleted') throw new Error('unreachable');
  return { events, kinds, completed: last.value };
}

function eventsOf<K extends NonNullable<AgentEvent['kind']['case']>>(record: TurnRecord, kind: K) {
  return record.events.flatMap((event) => (event.kind.case === kind ? [event.kind.value as Extract<AgentEvent['kind'], { case: K }>['value']] : []));
}

function pidFile(): string {
  return join(workdir, `pids-${Date.now()}-${Math.random()}.json`);
}

function readPids(path: string): { engine: number; grandchild: number } {
  return JSON.parse(readFileSync(path, 'utf8')) as { engine: number; grandchild: number };
}

async function expectGone(pids: { engine: number; grandchild: number }): Promise<void> {
  expect(await isProcessRunning(pids.engine), `engine ${pids.engine} is gone`).to.equal(false);
  expect(await isProcessRunning(pids.grandchild), `grandchild ${pids.grandchild} is gone`).to.equal(false);
}

let workdir: string;
const originalPath = process.env['PATH'];

// The fake CLIs go first on PATH only while these suites run: a root-level hook would change PATH for
// every other suite of the run (the daemon tests expect only the engines they link).
describe('Engine adapters against the fake CLIs', () => {
  before(() => {
    workdir = mkdtempSync(join(tmpdir(), 'engines-test-'));
    process.env['PATH'] = `${join(FIXTURES, 'bin')}:${originalPath ?? ''}`;
  });

  after(() => {
    process.env['PATH'] = originalPath;
    rmSync(workdir, { recursive: true, force: true });
  });

  interface EngineCase {
    id: EngineId;
    create: (options?: EngineAdapterOptions) => EngineAdapter;
    version: string;
    resumeId: string;
    /** The session id the engine reports after resuming `resumeId`. */
    resumedSessionId: string;
    crash: { exitCode: number; stderr: string };
    /** The tool name an MCP tool `echo` of server `foundation` has in this engine. */
    mcpToolName: string;
  }

  const ENGINES: EngineCase[] = [
    {
      id: 'gateway.codex.v2',
      create: (options) => new CodexAdapter({ killGraceMs: KILL_GRACE_MS, ...options }),
      version: 'codex-cli 0.152.1',
      resumeId: '0199a213-0000-7000-8000-000000000001',
      resumedSessionId: '0199a213-0000-7000-8000-000000000001',
      crash: { exitCode: 101, stderr: 'boom: the model stream broke' },
      mcpToolName: 'mcp:foundation/echo',
    },
    {
      id: 'gateway.claude.v2',
      create: (options) => new ClaudeAdapter({ killGraceMs: KILL_GRACE_MS, ...options }),
      version: '2.1.276 (Claude Code)',
      resumeId: '-looks-like-a-flag',
      resumedSessionId: '-looks-like-a-flag-resumed',
      crash: { exitCode: 1, stderr: 'ENOMEM: out of memory, boom' },
      mcpToolName: 'mcp__foundation__echo',
    },
    {
      id: 'gateway.opencode.v2',
      create: (options) => new OpenCodeAdapter({ killGraceMs: KILL_GRACE_MS, ...options }),
      version: '1.18.3',
      resumeId: 'ses_resumed0001',
      resumedSessionId: 'ses_resumed0001',
      crash: { exitCode: 3, stderr: 'Unexpected token in config file opencode.json' },
      mcpToolName: 'foundation_echo',
    },
  ];

  for (const engine of ENGINES) {
    describe(`EngineAdapter ${engine.id}`, () => {
      const adapter = engine.create();

      it('reports the CLI version as --version prints it, asking the CLI once', async () => {
        const first = adapter.version();
        expect(await first).to.equal(engine.version);
        expect(adapter.version()).to.equal(first);
      });

      it('starts with the session (CLI version recorded) and ends with one successful TurnCompleted', async () => {
        const turn = await runScenario(adapter, { scenario: 'success' });
        expect(turn.kinds.slice(0, 2)).to.deep.equal(['sessionStarted', 'turnStarted']);
        const [session] = eventsOf(turn, 'sessionStarted');
        expect(session?.cliVersion).to.equal(engine.version);
        expect(session?.engineSessionId).to.not.equal('');
        expect(turn.completed.status).to.equal(TurnCompleted_Status.SUCCESS);
        expect(turn.completed.engineSessionId).to.equal(session?.engineSessionId);
        expect(turn.completed.resultText).to.equal(eventsOf(turn, 'message').at(-1)?.text);
        expect(turn.completed.exitCode).to.equal(0);
      });

      it('resumes the given session and reports the id the engine continues under', async () => {
        const turn = await runScenario(adapter, { scenario: 'success', turn: { resumeEngineSessionId: engine.resumeId, prompt: '--and then?' } });
        expect(turn.completed.status, turn.completed.reason).to.equal(TurnCompleted_Status.SUCCESS);
        expect(turn.completed.resultText).to.equal(`resumed ${engine.resumeId}: --and then?`);
        expect(turn.completed.engineSessionId).to.equal(engine.resumedSessionId);
      });

      it('keeps lines that are not JSON as warnings and unknown lines as raw events, and still succeeds', async () => {
        const turn = await runScenario(adapter, { scenario: 'noise' });
        expect(eventsOf(turn, 'warning').map((warning) => warning.message).join('\n')).to.match(/not JSON/);
        expect(eventsOf(turn, 'raw').length).to.be.greaterThanOrEqual(2);
        expect(turn.completed.status).to.equal(TurnCompleted_Status.SUCCESS);
        expect(turn.completed.resultText).to.equal('done despite the noise');
      });

      it('survives 5 MB lines: tool output and raw lines are cut to 64 KiB', async () => {
        const turn = await runScenario(adapter, { scenario: 'huge-line' });
        const [output] = eventsOf(turn, 'toolCompleted');
        expect(output?.output.length).to.be.within(KEPT_BYTES - 4, KEPT_BYTES);
        const raw = eventsOf(turn, 'raw').find((event) => event.truncated);
        expect(raw?.line.length).to.be.within(KEPT_BYTES - 4, KEPT_BYTES);
        expect(turn.completed.status).to.equal(TurnCompleted_Status.SUCCESS);
        expect(turn.completed.resultText).to.equal('printed a big file');
      });

      it('times out an engine that goes silent and kills its whole process group, grandchildren too', async () => {
        const pids = pidFile();
        const turn = await runScenario(adapter, { scenario: 'grandchild', env: { FAKE_ENGINE_PID_FILE: pids }, turn: { idleTimeoutMs: 500 } });
        expect(turn.completed.status).to.equal(TurnCompleted_Status.TIMEOUT);
        expect(turn.completed.reason).to.equal('idle timeout: no output for 500ms');
        expect(eventsOf(turn, 'error').map((error) => error.code)).to.deep.equal([EngineError_Code.TIMEOUT]);
        await expectGone(readPids(pids));
      });

      it('times out an engine that keeps talking but never ends (wall clock)', async () => {
        const turn = await runScenario(adapter, { scenario: 'chatty', turn: { idleTimeoutMs: 1000, wallClockTimeoutMs: 700 } });
        expect(turn.completed.status).to.equal(TurnCompleted_Status.TIMEOUT);
        expect(turn.completed.reason).to.equal('wall-clock timeout after 700ms');
      });

      it('cancels through the AbortSignal with exactly one CANCELLED', async () => {
        const turn = await runScenario(adapter, { scenario: 'hang', cancelOn: 'sessionStarted' });
        expect(turn.completed.status).to.equal(TurnCompleted_Status.CANCELLED);
        expect(turn.completed.engineSessionId).to.not.equal('');
        expect(eventsOf(turn, 'error')).to.deep.equal([]);
      });

      it('kills with SIGKILL an engine that ignores SIGTERM, and its grandchild', async () => {
        const pids = pidFile();
        const turn = await runScenario(adapter, {
          scenario: 'grandchild',
          env: { FAKE_ENGINE_PID_FILE: pids, FAKE_ENGINE_IGNORE_SIGTERM: '1' },
          cancelOn: 'sessionStarted',
        });
        expect(turn.completed.status).to.equal(TurnCompleted_Status.CANCELLED);
        expect(turn.completed.signal).to.equal('SIGKILL');
        await expectGone(readPids(pids));
      });

      it('reports CANCELLED without starting the engine when the signal is already aborted', async () => {
        const controller = new AbortController();
        controller.abort();
        const turn = await runScenario(adapter, { scenario: 'success', turn: { signal: controller.signal } });
        expect(turn.kinds).to.deep.equal(['turnCompleted']);
        expect(turn.completed.status).to.equal(TurnCompleted_Status.CANCELLED);
      });

      it('resolves only once a grandchild left behind by a finished engine is gone', async () => {
        const pids = pidFile();
        const turn = await runScenario(adapter, { scenario: 'grandchild-exit', env: { FAKE_ENGINE_PID_FILE: pids } });
        expect(turn.completed.status).to.equal(TurnCompleted_Status.SUCCESS);
        expect(turn.completed.resultText).to.equal('left a background job behind');
        await expectGone(readPids(pids));
      });

      it('fails a crash with its exit code and the end of its stderr in the reason', async () => {
        const turn = await runScenario(adapter, { scenario: 'crash' });
        expect(turn.completed.status).to.equal(TurnCompleted_Status.FAILED);
        expect(turn.completed.exitCode).to.equal(engine.crash.exitCode);
        expect(turn.completed.reason).to.contain(`exited with code ${engine.crash.exitCode}`).and.to.contain(engine.crash.stderr);
      });

      it('fails with a SPAWN error naming the executable and PATH when the CLI is not installed', async () => {
        const missing = engine.create({ executable: 'no-such-engine-cli' });
        expect(await missing.version()).to.equal(undefined);
        const turn = await runScenario(missing, { scenario: 'success' });
        expect(turn.kinds).to.deep.equal(['error', 'turnCompleted']);
        const [error] = eventsOf(turn, 'error');
        expect(error?.code).to.equal(EngineError_Code.SPAWN);
        expect(error?.fatal).to.equal(true);
        expect(turn.completed.status).to.equal(TurnCompleted_Status.FAILED);
        expect(turn.completed.reason).to.contain('"no-such-engine-cli" was not found on PATH').and.to.contain(join(FIXTURES, 'bin'));
      });

      it('hands the tool bridge MCP server to the engine, which calls its tool', async () => {
        const turn = await runScenario(adapter, {
          scenario: 'mcp-call',
          env: { FAKE_MCP_TOOL: 'echo', FAKE_MCP_ARGS: JSON.stringify({ text: 'hi there' }) },
          turn: {
            mcpServer: { name: 'foundation', command: process.execPath, args: [join(FIXTURES, 'echo-mcp-server.mjs')], env: { ECHO_PREFIX: 'echo: ' } },
          },
        });
        expect(turn.completed.status, turn.completed.reason).to.equal(TurnCompleted_Status.SUCCESS);
        const [started] = eventsOf(turn, 'toolStarted');
        expect(started?.kind).to.equal(ToolKind.MCP);
        expect(started?.name).to.equal(engine.mcpToolName);
        const [done] = eventsOf(turn, 'toolCompleted');
        expect(done?.status).to.equal(ToolStatus.COMPLETED);
        expect(done?.output).to.equal('echo: hi there');
        expect(turn.completed.resultText).to.equal('the tool said: echo: hi there');
      });
    });
  }

  describe('createEngineAdapters()', () => {
    it('makes one adapter per engine of the catalog, each on its executable', () => {
      const adapters = createEngineAdapters({ executables: { 'gateway.codex.v2': '/opt/codex' } });
      expect([...adapters.keys()]).to.deep.equal(['gateway.codex.v2', 'gateway.claude.v2', 'gateway.opencode.v2']);
      expect([...adapters.values()].map((adapter) => adapter.executable)).to.deep.equal(['/opt/codex', 'claude', 'opencode']);
    });
  });

  describe('CodexAdapter', () => {
    const codex = new CodexAdapter({ killGraceMs: KILL_GRACE_MS });

    it('maps items onto reasoning, tools, plan, file changes, message and cumulative usage', async () => {
      const turn = await runScenario(codex, { scenario: 'success' });
      expect(turn.kinds).to.deep.equal([
        'sessionStarted', 'turnStarted', 'reasoning', 'toolStarted', 'toolCompleted', 'planUpdated',
        'toolStarted', 'fileChanged', 'toolCompleted', 'message', 'usage', 'turnCompleted',
      ]);
      const [command, edit] = eventsOf(turn, 'toolStarted');
      expect(command).to.include({ callId: 'item_1', kind: ToolKind.EXECUTE, title: 'bash -lc ls' });
      expect(edit).to.include({ callId: 'item_3', kind: ToolKind.EDIT });
      expect(eventsOf(turn, 'toolCompleted')[0]).to.include({ status: ToolStatus.COMPLETED, output: 'AGENTS.md\nREADME.md\n', exitCode: 0 });
      expect(eventsOf(turn, 'planUpdated')[0]?.entries.map((entry) => [entry.text, entry.status])).to.deep.equal([
        ['Write tests', PlanEntry_Status.PENDING],
        ['Read README', PlanEntry_Status.COMPLETED],
      ]);
      const changes = eventsOf(turn, 'fileChanged')[0]?.changes.map((change) => [change.path, change.kind, change.unifiedDiff]);
      expect(changes).to.deep.equal([
        ['src/a.ts', FileChange_Kind.UPDATE, '--- a/src/a.ts\n+++ b/src/a.ts\n@@ -1 +1 @@\n-a\n+b\n'],
        ['src/b.ts', FileChange_Kind.ADD, ''],
      ]);
      expect(eventsOf(turn, 'usage')[0]).to.include({ inputTokens: 24763n, cachedInputTokens: 24448n, outputTokens: 122n, cumulative: true });
    });

    it('fails on turn.failed with its message, the stream error before it being non-fatal', async () => {
      const turn = await runScenario(codex, { scenario: 'failed' });
      expect(eventsOf(turn, 'error').map((error) => [error.code, error.fatal])).to.deep.equal([
        [EngineError_Code.RATE_LIMIT, false],
        [EngineError_Code.RATE_LIMIT, true],
      ]);
      expect(turn.completed.status).to.equal(TurnCompleted_Status.FAILED);
      expect(turn.completed.reason).to.equal('stream disconnected before completion: 429 Too Many Requests');
    });

    it('turns a Codex error item into a warning', async () => {
      const turn = await runScenario(codex, { scenario: 'noise' });
      expect(eventsOf(turn, 'warning').map((warning) => warning.message)).to.include('model rerouted: gpt-5 -> gpt-5-mini');
    });

    it('fails a turn whose output ends without turn.completed, even with exit code 0', async () => {
      const turn = await runScenario(codex, { scenario: 'no-final' });
      expect(turn.completed.status).to.equal(TurnCompleted_Status.FAILED);
      expect(turn.completed.reason).to.equal('ended without a final event');
      expect(turn.completed.exitCode).to.equal(0);
      expect(turn.completed.resultText).to.equal('half way there');
    });

    it('reports a declined command as DECLINED', async () => {
      const turn = await runScenario(codex, { scenario: 'permission-denied' });
      expect(eventsOf(turn, 'toolCompleted')[0]?.status).to.equal(ToolStatus.DECLINED);
      expect(turn.completed.status).to.equal(TurnCompleted_Status.SUCCESS);
    });
  });

  describe('ClaudeAdapter', () => {
    const claude = new ClaudeAdapter({ killGraceMs: KILL_GRACE_MS });

    it('maps blocks onto reasoning, messages, tools, a plan and diffs built from edit inputs', async () => {
      // Set in the daemon's environment when it runs inside Claude Code; the adapter must not pass it on.
      const turn = await runScenario(claude, { scenario: 'success', env: { CLAUDECODE: '1' } });
      expect(turn.kinds).to.deep.equal([
        'sessionStarted', 'turnStarted', 'reasoning', 'message', 'toolStarted', 'toolCompleted', 'planUpdated',
        'toolStarted', 'fileChanged', 'toolCompleted', 'toolStarted', 'fileChanged', 'toolCompleted',
        'toolStarted', 'toolCompleted', 'message', 'usage', 'turnCompleted',
      ]);
      expect(eventsOf(turn, 'sessionStarted')[0]).to.include({ engineSessionId: '8d45afe0-771b-4803-8379-491dd9455365', model: 'claude-sonnet-4-5-20250929', cwd: workdir });
      expect(eventsOf(turn, 'toolStarted').map((tool) => [tool.name, tool.kind])).to.deep.equal([
        ['Read', ToolKind.READ],
        ['Edit', ToolKind.EDIT],
        ['Write', ToolKind.EDIT],
        ['Bash', ToolKind.EXECUTE],
      ]);
      expect(eventsOf(turn, 'planUpdated')[0]?.entries.map((entry) => entry.status)).to.deep.equal([PlanEntry_Status.IN_PROGRESS, PlanEntry_Status.PENDING]);
      const [edit, write] = eventsOf(turn, 'fileChanged').map((event) => event.changes[0]);
      expect(edit).to.include({ path: 'note.txt', kind: FileChange_Kind.UPDATE, unifiedDiff: '--- a/note.txt\n+++ b/note.txt\n@@ -1,2 +1,2 @@\n hello\n-world\n+there\n' });
      expect(write).to.include({ path: 'new.txt', kind: FileChange_Kind.ADD, unifiedDiff: '--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,2 @@\n+one\n+two\n' });
      expect(eventsOf(turn, 'toolCompleted').at(-1)).to.include({ callId: 'toolu_bash', status: ToolStatus.FAILED, error: 'Error: 1 test failed' });
      expect(eventsOf(turn, 'usage')[0]).to.include({ inputTokens: 2n, cachedInputTokens: 11590n, outputTokens: 4n, costUsd: 0.0123, cumulative: false });
      expect(turn.completed.resultText).to.equal('Fixed the note.');
    });

    it('maps result subtypes: max turns, budget, execution error', async () => {
      const maxTurns = await runScenario(claude, { scenario: 'max-turns' });
      expect(maxTurns.completed.status).to.equal(TurnCompleted_Status.MAX_TURNS);
      expect(maxTurns.completed.reason).to.equal('Reached maximum number of turns (3)');
      const budget = await runScenario(claude, { scenario: 'budget' });
      expect(budget.completed.status).to.equal(TurnCompleted_Status.BUDGET_EXCEEDED);
      const failed = await runScenario(claude, { scenario: 'failed' });
      expect(failed.completed.status).to.equal(TurnCompleted_Status.FAILED);
      expect(failed.completed.reason).to.equal('API Error: 529 Overloaded');
      expect(eventsOf(failed, 'error').map((error) => error.fatal)).to.deep.equal([true]);
    });

    it('reports the tools Claude was refused permission for', async () => {
      const turn = await runScenario(claude, { scenario: 'permission-denied' });
      expect(turn.completed.status).to.equal(TurnCompleted_Status.SUCCESS);
      expect(turn.completed.permissionDenials).to.deep.equal(['Bash']);
    });

    it('answers an unexpected permission prompt with a denial instead of blocking the turn', async () => {
      const turn = await runScenario(claude, { scenario: 'can-use-tool' });
      expect(eventsOf(turn, 'warning').map((warning) => warning.message)).to.deep.equal([
        "refused Claude's can_use_tool request: this node answers no permission prompts",
      ]);
      expect(turn.completed.resultText).to.equal('permission deny');
    });

    it('fails a turn whose output ends without a result line', async () => {
      const turn = await runScenario(claude, { scenario: 'no-final' });
      expect(turn.completed.status).to.equal(TurnCompleted_Status.FAILED);
      expect(turn.completed.reason).to.equal('ended without a final event');
    });

    it('keeps the success of a result line when Claude does not exit after it', async () => {
      const turn = await runScenario(claude, { scenario: 'linger-after-result' });
      expect(turn.completed.status).to.equal(TurnCompleted_Status.SUCCESS);
      expect(turn.completed.signal).to.equal('SIGTERM');
    });

    it('cancels by interrupt: Claude ends its turn itself, before any signal', async () => {
      const turn = await runScenario(claude, { scenario: 'hang', cancelOn: 'sessionStarted' });
      expect(turn.completed.status).to.equal(TurnCompleted_Status.CANCELLED);
      expect(turn.completed.exitCode).to.equal(0);
      expect(turn.completed.signal).to.equal('');
    });
  });

  describe('OpenCodeAdapter', () => {
    const opencode = new OpenCodeAdapter({ killGraceMs: KILL_GRACE_MS });

    it('maps parts onto reasoning, tools, OpenCode diffs, a plan, the message and per-step usage', async () => {
      const turn = await runScenario(opencode, { scenario: 'success' });
      expect(turn.kinds).to.deep.equal([
        'sessionStarted', 'turnStarted', 'reasoning', 'toolStarted', 'toolCompleted', 'toolStarted', 'toolCompleted',
        'toolStarted', 'fileChanged', 'toolCompleted', 'toolStarted', 'fileChanged', 'toolCompleted', 'planUpdated',
        'message', 'usage', 'turnCompleted',
      ]);
      expect(eventsOf(turn, 'toolStarted').map((tool) => [tool.name, tool.kind])).to.deep.equal([
        ['glob', ToolKind.SEARCH],
        ['bash', ToolKind.EXECUTE],
        ['edit', ToolKind.EDIT],
        ['write', ToolKind.EDIT],
      ]);
      expect(eventsOf(turn, 'toolCompleted')[1]).to.include({ status: ToolStatus.FAILED, error: 'exit code 1' });
      const [edit, write] = eventsOf(turn, 'fileChanged').map((event) => event.changes[0]);
      expect(edit?.unifiedDiff).to.equal('Index: src/a.ts\n--- src/a.ts\n+++ src/a.ts\n@@ -1 +1 @@\n-a\n+b\n');
      expect(write).to.include({ path: 'src/new.ts', kind: FileChange_Kind.ADD, unifiedDiff: '--- /dev/null\n+++ b/src/new.ts\n@@ -0,0 +1,1 @@\n+export {};\n' });
      expect(eventsOf(turn, 'planUpdated')[0]?.entries.map((entry) => entry.text)).to.deep.equal(['Edit a.ts', 'Run tests']);
      expect(eventsOf(turn, 'usage')[0]).to.include({ inputTokens: 8389n, cachedInputTokens: 100n, outputTokens: 20n, cumulative: false });
    });

    it('fails on an error line, naming the error', async () => {
      const turn = await runScenario(opencode, { scenario: 'failed' });
      expect(eventsOf(turn, 'error').map((error) => error.code)).to.deep.equal([EngineError_Code.RATE_LIMIT]);
      expect(turn.completed.status).to.equal(TurnCompleted_Status.FAILED);
      expect(turn.completed.reason).to.equal('rate limited');
      const auth = await runScenario(opencode, { scenario: 'auth-failed' });
      expect(eventsOf(auth, 'error')[0]?.code).to.equal(EngineError_Code.AUTH);
    });

    it('succeeds on exit 0 without a done line (older builds)', async () => {
      const turn = await runScenario(opencode, { scenario: 'no-done' });
      expect(turn.completed.status).to.equal(TurnCompleted_Status.SUCCESS);
      expect(turn.completed.resultText).to.equal('an older build');
    });

    it('keeps the success of a done line when OpenCode does not exit after it', async () => {
      const turn = await runScenario(opencode, { scenario: 'linger-after-done' });
      expect(turn.completed.status).to.equal(TurnCompleted_Status.SUCCESS);
      expect(turn.completed.signal).to.equal('SIGTERM');
    });

    it('reports the permissions OpenCode rejected', async () => {
      const turn = await runScenario(opencode, { scenario: 'permission-denied' });
      expect(turn.completed.permissionDenials).to.deep.equal(['bash']);
    });
  });
});
