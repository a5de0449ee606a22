import { FileChange_Kind, PlanEntry_Status, ToolKind, ToolStatus, TurnCompleted_Status } from '@foundation/contracts';
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
import { contentText } from './tool-output.js';
import { toolStatusOf } from './tool-status.js';
import { endedWithoutFinalEvent, type EngineExit, type EventSink, type TurnProtocol } from './turn-protocol.js';

/**
 * Reads `codex exec --json` (the thread/turn/item format): `thread.started` gives the thread a follow-up
 * resumes, items map onto messages, tools, file changes and plans, and only `turn.completed` is a success —
 * an interrupted or crashed Codex prints no terminal line at all.
 */
export class CodexProtocol implements TurnProtocol {
  engineSessionId: string;
  resultText = '';
  finished = false;
  private failure: string | undefined;
  private readonly startedTools = new Set<string>();

  constructor(
    private readonly facts: { cwd: string; cliVersion: string | undefined; resumeThreadId: string | undefined },
  ) {
    this.engineSessionId = facts.resumeThreadId ?? '';
  }

  start(): void {}

  onLine(value: JsonRecord, line: string, events: EventSink): void {
    switch (value['type']) {
      case 'thread.started':
        this.engineSessionId = stringAt(value['thread_id']) ?? this.engineSessionId;
        events.emit(sessionStarted(this.engineSessionId, { cwd: this.facts.cwd, cliVersion: this.facts.cliVersion }));
        return;
      case 'turn.started':
        events.emit(turnStarted());
        return;
      case 'item.started':
      case 'item.updated':
      case 'item.completed':
        this.onItem(value['type'] === 'item.completed', recordAt(value['item']), line, events);
        return;
      case 'turn.completed': {
        const counts = recordAt(value['usage']) ?? {};
        events.emit(
          usage({
            inputTokens: tokens(counts['input_tokens']),
            cachedInputTokens: tokens(counts['cached_input_tokens']),
            outputTokens: tokens(counts['output_tokens']),
            reasoningTokens: tokens(counts['reasoning_output_tokens']),
            // Codex reports the thread's running total, not this turn's share.
            cumulative: true,
          }),
        );
        this.finished = true;
        return;
      }
      case 'turn.failed': {
        const message = stringAt(recordAt(value['error'])?.['message']) ?? 'the turn failed';
        events.emit(engineError(message, errorCodeOf(message), true));
        this.failure = message;
        this.finished = true;
        return;
      }
      case 'error': {
        // A stream-level error; a turn.failed follows when it ends the turn.
        const message = stringAt(value['message']) ?? 'unknown error';
        events.emit(engineError(message, errorCodeOf(message), false));
        return;
      }
      default:
        events.emit(rawLine(line));
    }
  }

  completion(exit: EngineExit): TurnCompletedInit {
    const session = { engineSessionId: this.engineSessionId, resultText: this.resultText };
    if (this.finished && this.failure === undefined) return { ...session, status: TurnCompleted_Status.SUCCESS };
    return { ...session, status: TurnCompleted_Status.FAILED, reason: this.failure ?? endedWithoutFinalEvent(exit) };
  }

  private onItem(completed: boolean, item: JsonRecord | undefined, line: string, events: EventSink): void {
    const id = stringAt(item?.['id']) ?? '';
    switch (item?.['type']) {
      case 'agent_message':
        if (!completed) return;
        this.resultText = stringAt(item['text']) ?? '';
        events.emit(assistantMessage(id, this.resultText));
        return;
      case 'reasoning':
        if (completed) events.emit(reasoning(id, stringAt(item['text']) ?? ''));
        return;
      case 'todo_list':
        events.emit(planUpdated({ entries: arrayAt(item['items']).map(planEntry) }));
        return;
      case 'error':
        // Non-fatal notices: config warnings, deprecations, "model rerouted".
        if (completed) events.emit(warning(stringAt(item['message']) ?? 'unknown error'));
        return;
      case 'command_execution':
      case 'mcp_tool_call':
      case 'web_search':
      case 'collab_tool_call':
      case 'file_change':
        if (!this.startedTools.has(id)) {
          this.startedTools.add(id);
          events.emit(toolStarted({ callId: id, ...describeTool(item) }));
        }
        if (completed) this.completeTool(id, item, events);
        return;
      default:
        events.emit(rawLine(line));
    }
  }

  private completeTool(id: string, item: JsonRecord, events: EventSink): void {
    const status = stringAt(item['status']);
    switch (item['type']) {
      case 'command_execution':
        events.emit(
          toolCompleted({
            callId: id,
            status: toolStatusOf(status),
            output: stringAt(item['aggregated_output']) ?? '',
            exitCode: numberAt(item['exit_code']),
          }),
        );
        return;
      case 'mcp_tool_call':
        events.emit(
          toolCompleted({
            callId: id,
            status: toolStatusOf(status),
            output: mcpResultText(recordAt(item['result'])),
            error: stringAt(recordAt(item['error'])?.['message']) ?? '',
          }),
        );
        return;
      case 'file_change':
        if (status !== 'failed') events.emit(fileChanged({ callId: id, changes: arrayAt(item['changes']).map(fileChange) }));
        events.emit(toolCompleted({ callId: id, status: toolStatusOf(status) }));
        return;
      default:
        events.emit(toolCompleted({ callId: id, status: status === undefined ? ToolStatus.COMPLETED : toolStatusOf(status) }));
    }
  }
}

function describeTool(item: JsonRecord): { kind: ToolKind; name: string; title: string; input: ReturnType<typeof toolInput> } {
  switch (item['type']) {
    case 'command_execution': {
      const command = stringAt(item['command']) ?? '';
      return { kind: ToolKind.EXECUTE, name: 'command_execution', title: command, input: toolInput({ command }) };
    }
    case 'mcp_tool_call': {
      const target = `${stringAt(item['server']) ?? ''}/${stringAt(item['tool']) ?? ''}`;
      return { kind: ToolKind.MCP, name: `mcp:${target}`, title: target, input: toolInput(item['arguments'] ?? null) };
    }
    case 'web_search': {
      const query = stringAt(item['query']) ?? '';
      return { kind: ToolKind.FETCH, name: 'web_search', title: query, input: toolInput({ query }) };
    }
    case 'collab_tool_call': {
      const tool = stringAt(item['tool']) ?? '';
      return { kind: ToolKind.TASK, name: `collab_tool_call:${tool}`, title: stringAt(item['prompt']) ?? tool, input: toolInput({ tool, prompt: item['prompt'] ?? null }) };
    }
    default: {
      const paths = arrayAt(item['changes']).map((change) => stringAt(recordAt(change)?.['path']) ?? '');
      return { kind: ToolKind.EDIT, name: 'file_change', title: paths.join(', '), input: toolInput({ paths }) };
    }
  }
}

function fileChange(value: unknown): { path: string; kind: FileChange_Kind; unifiedDiff: string } {
  const change = recordAt(value) ?? {};
  const kinds: Record<string, FileChange_Kind> = { add: FileChange_Kind.ADD, update: FileChange_Kind.UPDATE, delete: FileChange_Kind.DELETE };
  return {
    path: stringAt(change['path']) ?? '',
    kind: kinds[stringAt(change['kind']) ?? ''] ?? FileChange_Kind.UNSPECIFIED,
    // Only the newest Codex builds print the diff.
    unifiedDiff: stringAt(change['diff']) ?? '',
  };
}

function planEntry(value: unknown): { text: string; status: PlanEntry_Status } {
  const entry = recordAt(value) ?? {};
  return {
    text: stringAt(entry['text']) ?? '',
    status: entry['completed'] === true ? PlanEntry_Status.COMPLETED : PlanEntry_Status.PENDING,
  };
}

/** An MCP tool result's text blocks, or the JSON of its structured content when it has no text. */
function mcpResultText(result: JsonRecord | undefined): string {
  if (result === undefined) return '';
  const content = arrayAt(result['content']);
  return content.length > 0 ? contentText(content) : JSON.stringify(result['structured_content'] ?? null);
}
