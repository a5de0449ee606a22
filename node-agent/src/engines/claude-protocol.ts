import { FileChange_Kind, ToolKind, ToolStatus, TurnCompleted_Status } from '@foundation/contracts';
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
  warning,
  type TurnCompletedInit,
} from './events.js';
import { arrayAt, numberAt, recordAt, stringAt, tokens, type JsonRecord } from './json-fields.js';
import { todoEntry } from './todo-entry.js';
import { contentText } from './tool-output.js';
import { endedWithoutFinalEvent, type EngineExit, type EngineStdin, type EventSink, type TurnProtocol } from './turn-protocol.js';
import { diffFromEdits, formatPatch, type PatchHunk } from './unified-diff.js';

const EDIT_TOOLS = new Set(['Edit', 'MultiEdit', 'Write']);

/**
 * Speaks Claude Code's stream-json both ways: writes the user line (and the interrupt on cancel), reads
 * `system/init` for the session, `assistant` blocks for messages, reasoning and tool calls, `user`
 * tool results, and `result`, the one terminal line, whose subtype is the turn's status.
 */
export class ClaudeProtocol implements TurnProtocol {
  engineSessionId: string;
  resultText = '';
  finished = false;
  private outcome: TurnCompletedInit | undefined;
  private interrupted = false;
  private stdin: EngineStdin | undefined;
  /** Edit tool calls waiting for their result: a refused edit changed nothing. */
  private readonly pendingEdits = new Map<string, { name: string; input: JsonRecord }>();
  /** TodoWrite calls: a plan, not a tool, so their results are not tool completions. */
  private readonly planCalls = new Set<string>();

  constructor(private readonly facts: { prompt: string; cliVersion: string | undefined; resumeSessionId: string | undefined }) {
    this.engineSessionId = facts.resumeSessionId ?? '';
  }

  start(stdin: EngineStdin): void {
    this.stdin = stdin;
    stdin.writeLine({
      type: 'user',
      message: { role: 'user', content: this.facts.prompt },
      parent_tool_use_id: null,
      session_id: this.facts.resumeSessionId ?? '',
    });
  }

  interrupt(stdin: EngineStdin): void {
    this.interrupted = true;
    stdin.writeLine({ type: 'control_request', request_id: 'foundation-interrupt', request: { subtype: 'interrupt' } });
  }

  onLine(value: JsonRecord, line: string, events: EventSink): void {
    switch (value['type']) {
      case 'system':
        if (value['subtype'] !== 'init') {
          events.emit(rawLine(line));
          return;
        }
        // A resumed session may get a new id: the one init reports is the one to resume next.
        this.engineSessionId = stringAt(value['session_id']) ?? this.engineSessionId;
        events.emit(
          sessionStarted(this.engineSessionId, {
            model: stringAt(value['model']),
            cwd: stringAt(value['cwd']),
            cliVersion: this.facts.cliVersion ?? stringAt(value['claude_code_version']),
          }),
        );
        events.emit(turnStarted());
        return;
      case 'assistant':
        this.onAssistant(recordAt(value['message']) ?? {}, line, events);
        return;
      case 'user':
        this.onUser(value, events);
        return;
      case 'result':
        this.onResult(value, events);
        return;
      case 'control_request':
        this.refuseControlRequest(recordAt(value['request']) ?? {}, stringAt(value['request_id']) ?? '', events);
        return;
      case 'control_response':
        // The acknowledgement of our interrupt.
        return;
      default:
        events.emit(rawLine(line));
    }
  }

  completion(exit: EngineExit): TurnCompletedInit {
    return (
      this.outcome ?? {
        status: TurnCompleted_Status.FAILED,
        reason: endedWithoutFinalEvent(exit),
        engineSessionId: this.engineSessionId,
        resultText: this.resultText,
      }
    );
  }

  private onAssistant(message: JsonRecord, line: string, events: EventSink): void {
    const messageId = stringAt(message['id']) ?? '';
    let unknownBlock = false;
    for (const value of arrayAt(message['content'])) {
      const block = recordAt(value) ?? {};
      switch (block['type']) {
        case 'text':
          this.resultText = stringAt(block['text']) ?? '';
          events.emit(assistantMessage(messageId, this.resultText));
          break;
        case 'thinking':
          events.emit(reasoning(messageId, stringAt(block['thinking']) ?? ''));
          break;
        case 'tool_use':
        case 'server_tool_use':
          this.onToolUse(block, events);
          break;
        default:
          unknownBlock = true;
      }
    }
    if (unknownBlock) events.emit(rawLine(line));
  }

  private onToolUse(block: JsonRecord, events: EventSink): void {
    const callId = stringAt(block['id']) ?? '';
    const name = stringAt(block['name']) ?? '';
    const input = recordAt(block['input']) ?? {};
    if (name === 'TodoWrite') {
      this.planCalls.add(callId);
      events.emit(planUpdated({ entries: arrayAt(input['todos']).map(todoEntry) }));
      return;
    }
    if (EDIT_TOOLS.has(name)) this.pendingEdits.set(callId, { name, input });
    events.emit(toolStarted({ callId, kind: claudeToolKind(name), name, title: claudeToolTitle(input), input: toolInput(input) }));
  }

  private onUser(value: JsonRecord, events: EventSink): void {
    // String content is the echo of our own prompt; tool results come as blocks.
    const results = arrayAt(recordAt(value['message'])?.['content'])
      .map((block) => recordAt(block) ?? {})
      .filter((block) => block['type'] === 'tool_result');
    // The structured result on the line belongs to its tool result when the line carries only one.
    const structured = results.length === 1 ? recordAt(value['tool_use_result']) : undefined;
    for (const result of results) this.onToolResult(result, structured, events);
  }

  private onToolResult(result: JsonRecord, structured: JsonRecord | undefined, events: EventSink): void {
    const callId = stringAt(result['tool_use_id']) ?? '';
    if (this.planCalls.delete(callId)) return;
    const failed = result['is_error'] === true;
    const output = contentText(result['content']);
    const edit = this.pendingEdits.get(callId);
    this.pendingEdits.delete(callId);
    if (edit !== undefined && !failed) events.emit(fileChanged({ callId, changes: [claudeFileChange(edit.name, edit.input, structured)] }));
    events.emit(
      toolCompleted({
        callId,
        status: failed ? ToolStatus.FAILED : ToolStatus.COMPLETED,
        output: failed ? '' : output,
        error: failed ? output : '',
      }),
    );
  }

  private onResult(value: JsonRecord, events: EventSink): void {
    const counts = recordAt(value['usage']) ?? {};
    events.emit(
      usage({
        inputTokens: tokens(counts['input_tokens']),
        cachedInputTokens: tokens(counts['cache_read_input_tokens']),
        outputTokens: tokens(counts['output_tokens']),
        costUsd: numberAt(value['total_cost_usd']) ?? 0,
        cumulative: false,
      }),
    );
    this.engineSessionId = stringAt(value['session_id']) ?? this.engineSessionId;
    const result = stringAt(value['result']) ?? '';
    if (result !== '') this.resultText = result;
    const status = resultStatus(stringAt(value['subtype']), value['is_error'] === true);
    const errors = arrayAt(value['errors']).filter((error): error is string => typeof error === 'string');
    const reason = status === TurnCompleted_Status.SUCCESS ? '' : errors.join('; ') || result || `the turn ended with ${stringAt(value['subtype']) ?? 'an error'}`;
    if (status === TurnCompleted_Status.FAILED && !this.interrupted) events.emit(engineError(reason, errorCodeOf(reason), true));
    this.outcome = {
      status,
      reason,
      resultText: this.resultText,
      engineSessionId: this.engineSessionId,
      permissionDenials: arrayAt(value['permission_denials']).map((denial) => stringAt(recordAt(denial)?.['tool_name']) ?? ''),
    };
    this.finished = true;
  }

  /**
   * Nothing here asks Claude for permission prompts or hooks, so such a request is unexpected; it is
   * answered at once, since an unanswered control request blocks the turn forever.
   */
  private refuseControlRequest(request: JsonRecord, requestId: string, events: EventSink): void {
    const subtype = stringAt(request['subtype']) ?? '';
    events.emit(warning(`refused Claude's ${subtype} request: this node answers no permission prompts`));
    this.stdin?.writeLine(
      subtype === 'can_use_tool'
        ? { type: 'control_response', response: { subtype: 'success', request_id: requestId, response: { behavior: 'deny', message: 'not allowed on this node' } } }
        : { type: 'control_response', response: { subtype: 'error', request_id: requestId, error: `${subtype} is not supported` } },
    );
  }
}

function resultStatus(subtype: string | undefined, isError: boolean): TurnCompleted_Status {
  switch (subtype) {
    case 'success':
      return isError ? TurnCompleted_Status.FAILED : TurnCompleted_Status.SUCCESS;
    case 'error_max_turns':
      return TurnCompleted_Status.MAX_TURNS;
    case 'error_max_budget_usd':
      return TurnCompleted_Status.BUDGET_EXCEEDED;
    default:
      return TurnCompleted_Status.FAILED;
  }
}

function claudeToolKind(name: string): ToolKind {
  if (name.startsWith('mcp__')) return ToolKind.MCP;
  switch (name) {
    case 'Bash':
    case 'BashOutput':
    case 'KillShell':
      return ToolKind.EXECUTE;
    case 'Read':
    case 'NotebookRead':
      return ToolKind.READ;
    case 'Glob':
    case 'Grep':
    case 'LS':
      return ToolKind.SEARCH;
    case 'Edit':
    case 'MultiEdit':
    case 'Write':
    case 'NotebookEdit':
      return ToolKind.EDIT;
    case 'WebFetch':
    case 'WebSearch':
    case 'web_search':
      return ToolKind.FETCH;
    case 'Task':
    case 'Agent':
      return ToolKind.TASK;
    default:
      return ToolKind.OTHER;
  }
}

/** The input field that says what the call does, for people: the command, the file, the pattern, the URL. */
function claudeToolTitle(input: JsonRecord): string {
  for (const key of ['command', 'file_path', 'notebook_path', 'pattern', 'url', 'query', 'description', 'path']) {
    const text = stringAt(input[key]);
    if (text !== undefined) return text;
  }
  return '';
}

/**
 * The change an Edit, MultiEdit or Write made. Claude's own hunks (`structuredPatch` of the tool result)
 * carry real line numbers and win; otherwise the diff is built from the tool's input.
 */
function claudeFileChange(name: string, input: JsonRecord, structured: JsonRecord | undefined): { path: string; kind: FileChange_Kind; unifiedDiff: string } {
  const path = stringAt(input['file_path']) ?? '';
  const created = name === 'Write' && structured?.['type'] === 'create';
  const kind = created ? FileChange_Kind.ADD : FileChange_Kind.UPDATE;
  const hunks = arrayAt(structured?.['structuredPatch']).map(patchHunk).filter((hunk): hunk is PatchHunk => hunk !== undefined);
  if (hunks.length > 0) return { path, kind, unifiedDiff: formatPatch(path, hunks, created) };
  switch (name) {
    case 'Edit':
      return { path, kind, unifiedDiff: diffFromEdits(path, [textEdit(input)]) };
    case 'MultiEdit':
      return { path, kind, unifiedDiff: diffFromEdits(path, arrayAt(input['edits']).map((edit) => textEdit(recordAt(edit) ?? {}))) };
    default: {
      const content = stringAt(input['content']) ?? '';
      const original = stringAt(structured?.['originalFile']);
      if (created) return { path, kind, unifiedDiff: diffFromEdits(path, [{ oldText: '', newText: content }], true) };
      // An overwrite whose previous content Claude did not report has no honest diff.
      return { path, kind, unifiedDiff: original === undefined ? '' : diffFromEdits(path, [{ oldText: original, newText: content }]) };
    }
  }
}

function textEdit(input: JsonRecord): { oldText: string; newText: string } {
  return { oldText: stringAt(input['old_string']) ?? '', newText: stringAt(input['new_string']) ?? '' };
}

function patchHunk(value: unknown): PatchHunk | undefined {
  const hunk = recordAt(value);
  const oldStart = numberAt(hunk?.['oldStart']);
  const newStart = numberAt(hunk?.['newStart']);
  if (hunk === undefined || oldStart === undefined || newStart === undefined) return undefined;
  return {
    oldStart,
    oldLines: numberAt(hunk['oldLines']) ?? 0,
    newStart,
    newLines: numberAt(hunk['newLines']) ?? 0,
    lines: arrayAt(hunk['lines']).filter((line): line is string => typeof line === 'string'),
  };
}
