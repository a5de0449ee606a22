import { EngineError_Code, FileChange_Kind, ToolKind, TurnCompleted_Status } from '@foundation/contracts';
import {
  assistantMessage,
  engineError,
  errorCodeOf,
  fileChanged,
  planUpdated,
  rawLine,
  reasoning,
  sessionStarted,
  toolCompleted,
  toolInput,
  toolStarted,
  turnStarted,
  usage,
  type TurnCompletedInit,
} from './events.js';
import { arrayAt, numberAt, recordAt, stringAt, tokens, type JsonRecord } from './json-fields.js';
import { todoEntry } from './todo-entry.js';
import { toolStatusOf } from './tool-status.js';
import { endedWithoutFinalEvent, type EngineExit, type EventSink, type TurnProtocol } from './turn-protocol.js';
import { diffFromEdits } from './unified-diff.js';

type FileChangeInit = { path: string; kind: FileChange_Kind; unifiedDiff: string };

/**
 * Reads `opencode run --format json`. Every line carries the session id, so the first one announces the
 * session. A turn succeeds when no `error` line came and the process exited 0 (or printed `done`, newer
 * builds, after which a lingering process is killed rather than held against the turn).
 */
export class OpenCodeProtocol implements TurnProtocol {
  engineSessionId: string;
  resultText = '';
  finished = false;
  private announced = false;
  private failure: string | undefined;
  private permissionDenials: string[] = [];

  constructor(
    private readonly facts: { cwd: string; cliVersion: string | undefined; resumeSessionId: string | undefined; mcpServerName: string | undefined },
  ) {
    this.engineSessionId = facts.resumeSessionId ?? '';
  }

  start(): void {}

  onLine(value: JsonRecord, line: string, events: EventSink): void {
    this.announceSession(stringAt(value['sessionID']), events);
    const part = recordAt(value['part']) ?? {};
    switch (value['type']) {
      case 'step_start':
        // Announcing the session already started the turn; a turn has one step per model call.
        return;
      case 'text':
        this.resultText = stringAt(part['text']) ?? '';
        events.emit(assistantMessage(stringAt(part['messageID']) ?? '', this.resultText));
        return;
      case 'reasoning':
        events.emit(reasoning(stringAt(part['id']) ?? '', stringAt(part['text']) ?? ''));
        return;
      case 'tool_use':
        this.onTool(part, events);
        return;
      case 'step_finish': {
        const counts = recordAt(part['tokens']) ?? {};
        events.emit(
          usage({
            inputTokens: tokens(counts['input']),
            cachedInputTokens: tokens(recordAt(counts['cache'])?.['read']),
            outputTokens: tokens(counts['output']),
            reasoningTokens: tokens(counts['reasoning']),
            costUsd: numberAt(part['cost']) ?? 0,
            cumulative: false,
          }),
        );
        return;
      }
      case 'error': {
        const error = recordAt(value['error']) ?? {};
        const name = stringAt(error['name']) ?? 'UnknownError';
        const message = stringAt(recordAt(error['data'])?.['message']) ?? name;
        events.emit(engineError(message, name === 'ProviderAuthError' ? EngineError_Code.AUTH : errorCodeOf(message), true));
        this.failure = this.failure === undefined ? message : `${this.failure}; ${message}`;
        return;
      }
      case 'done':
        this.permissionDenials = arrayAt(value['rejected']).filter((name): name is string => typeof name === 'string');
        this.finished = true;
        return;
      default:
        events.emit(rawLine(line));
    }
  }

  completion(exit: EngineExit): TurnCompletedInit {
    const session = { engineSessionId: this.engineSessionId, resultText: this.resultText, permissionDenials: this.permissionDenials };
    if (this.failure !== undefined) return { ...session, status: TurnCompleted_Status.FAILED, reason: this.failure };
    if (this.finished || (exit.code === 0 && exit.signal === null)) return { ...session, status: TurnCompleted_Status.SUCCESS };
    return { ...session, status: TurnCompleted_Status.FAILED, reason: endedWithoutFinalEvent(exit) };
  }

  private announceSession(sessionId: string | undefined, events: EventSink): void {
    if (this.announced || sessionId === undefined || sessionId === '') return;
    this.announced = true;
    this.engineSessionId = sessionId;
    events.emit(sessionStarted(sessionId, { cwd: this.facts.cwd, cliVersion: this.facts.cliVersion }));
    events.emit(turnStarted());
  }

  /** OpenCode prints a tool call once, when it is over: its start and end come from the one line. */
  private onTool(part: JsonRecord, events: EventSink): void {
    const callId = stringAt(part['callID']) ?? stringAt(part['id']) ?? '';
    const name = stringAt(part['tool']) ?? '';
    const state = recordAt(part['state']) ?? {};
    const input = recordAt(state['input']) ?? {};
    const status = stringAt(state['status']);
    if (name === 'todowrite') {
      events.emit(planUpdated({ entries: arrayAt(input['todos']).map(todoEntry) }));
      return;
    }
    const kind = this.toolKind(name);
    const title = stringAt(state['title']) ?? stringAt(input['command']) ?? stringAt(input['filePath']) ?? '';
    events.emit(toolStarted({ callId, kind, name, title, input: toolInput(input) }));
    if (kind === ToolKind.EDIT && status === 'completed') {
      const changes = openCodeFileChanges(name, input, recordAt(state['metadata']) ?? {});
      if (changes.length > 0) events.emit(fileChanged({ callId, changes }));
    }
    events.emit(toolCompleted({ callId, status: toolStatusOf(status), output: stringAt(state['output']) ?? '', error: stringAt(state['error']) ?? '' }));
  }

  private toolKind(name: string): ToolKind {
    // OpenCode names an MCP server's tools `<server>_<tool>`.
    if (this.facts.mcpServerName !== undefined && name.startsWith(`${this.facts.mcpServerName}_`)) return ToolKind.MCP;
    switch (name) {
      case 'bash':
        return ToolKind.EXECUTE;
      case 'read':
        return ToolKind.READ;
      case 'write':
      case 'edit':
      case 'multiedit':
      case 'patch':
      case 'apply_patch':
        return ToolKind.EDIT;
      case 'glob':
      case 'grep':
      case 'list':
      case 'codesearch':
        return ToolKind.SEARCH;
      case 'webfetch':
      case 'websearch':
        return ToolKind.FETCH;
      case 'task':
        return ToolKind.TASK;
      default:
        return ToolKind.OTHER;
    }
  }
}

/** The files an edit tool changed; OpenCode's own diff (`metadata.diff`) wins over one built from the input. */
function openCodeFileChanges(name: string, input: JsonRecord, metadata: JsonRecord): FileChangeInit[] {
  const ownDiff = stringAt(metadata['diff']);
  if (name === 'patch' || name === 'apply_patch') return patchedFiles(stringAt(input['patchText']) ?? '', ownDiff ?? '');
  const path = stringAt(input['filePath']) ?? '';
  if (name === 'write') {
    const created = metadata['exists'] === false;
    const unifiedDiff = ownDiff ?? (created ? diffFromEdits(path, [{ oldText: '', newText: stringAt(input['content']) ?? '' }], true) : '');
    return [{ path, kind: created ? FileChange_Kind.ADD : FileChange_Kind.UPDATE, unifiedDiff }];
  }
  const unifiedDiff = ownDiff ?? diffFromEdits(path, [{ oldText: stringAt(input['oldString']) ?? '', newText: stringAt(input['newString']) ?? '' }]);
  return [{ path, kind: FileChange_Kind.UPDATE, unifiedDiff }];
}

/** The files a patch names (`*** Add File: a.ts`, …); the diff is OpenCode's, on the first file. */
function patchedFiles(patchText: string, diff: string): FileChangeInit[] {
  const kinds: Record<string, FileChange_Kind> = { Add: FileChange_Kind.ADD, Update: FileChange_Kind.UPDATE, Delete: FileChange_Kind.DELETE };
  const changes = [...patchText.matchAll(/^\*\*\* (Add|Update|Delete) File: (.+)$/gm)].map((match) => ({
    path: (match[2] ?? '').trim(),
    kind: kinds[match[1] ?? ''] ?? FileChange_Kind.UNSPECIFIED,
    unifiedDiff: '',
  }));
  const first = changes[0];
  if (first !== undefined) first.unifiedDiff = diff;
  return changes;
}
