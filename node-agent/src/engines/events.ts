import { create, fromJson, type JsonValue, type MessageInitShape } from '@bufbuild/protobuf';
import { ValueSchema, type Value } from '@bufbuild/protobuf/wkt';
import {
  AgentEventSchema,
  AgentMessage_Role,
  EngineError_Code,
  FileChangedSchema,
  PlanUpdatedSchema,
  ToolCompletedSchema,
  ToolStartedSchema,
  TurnCompletedSchema,
  UsageSchema,
  type AgentEvent,
} from '@foundation/contracts';
import { cutUtf8, KEPT_TEXT_BYTES } from './text-cut.js';

const MAX_DIFF_BYTES = 256 * 1024;

/** Constructors of the normalized events, so the engine protocols read as mappings rather than plumbing. */

export type ToolStartedInit = MessageInitShape<typeof ToolStartedSchema>;
export type ToolCompletedInit = MessageInitShape<typeof ToolCompletedSchema>;
export type FileChangedInit = MessageInitShape<typeof FileChangedSchema>;
export type PlanUpdatedInit = MessageInitShape<typeof PlanUpdatedSchema>;
export type UsageInit = MessageInitShape<typeof UsageSchema>;
export type TurnCompletedInit = MessageInitShape<typeof TurnCompletedSchema>;

export function sessionStarted(engineSessionId: string, facts: { model?: string; cwd?: string; cliVersion?: string }): AgentEvent {
  return create(AgentEventSchema, {
    kind: { case: 'sessionStarted', value: { engineSessionId, model: facts.model ?? '', cwd: facts.cwd ?? '', cliVersion: facts.cliVersion ?? '' } },
  });
}

export function turnStarted(): AgentEvent {
  return create(AgentEventSchema, { kind: { case: 'turnStarted', value: {} } });
}

export function assistantMessage(messageId: string, text: string): AgentEvent {
  return create(AgentEventSchema, { kind: { case: 'message', value: { messageId, role: AgentMessage_Role.ASSISTANT, text } } });
}

export function reasoning(id: string, text: string): AgentEvent {
  return create(AgentEventSchema, { kind: { case: 'reasoning', value: { id, text } } });
}

export function toolStarted(init: ToolStartedInit): AgentEvent {
  return create(AgentEventSchema, { kind: { case: 'toolStarted', value: init } });
}

/** A ToolCompleted; its output is cut to 64 KiB as the contract says. */
export function toolCompleted(init: ToolCompletedInit): AgentEvent {
  const value = create(ToolCompletedSchema, init);
  value.output = cutUtf8(value.output).text;
  value.error = cutUtf8(value.error).text;
  return create(AgentEventSchema, { kind: { case: 'toolCompleted', value } });
}

/** A FileChanged; a diff past 256 KiB (a generated file) is cut, the change itself is still reported. */
export function fileChanged(init: FileChangedInit): AgentEvent {
  const value = create(FileChangedSchema, init);
  for (const change of value.changes) change.unifiedDiff = cutUtf8(change.unifiedDiff, MAX_DIFF_BYTES).text;
  return create(AgentEventSchema, { kind: { case: 'fileChanged', value } });
}

export function planUpdated(init: PlanUpdatedInit): AgentEvent {
  return create(AgentEventSchema, { kind: { case: 'planUpdated', value: init } });
}

export function usage(init: UsageInit): AgentEvent {
  return create(AgentEventSchema, { kind: { case: 'usage', value: init } });
}

export function warning(message: string): AgentEvent {
  return create(AgentEventSchema, { kind: { case: 'warning', value: { message: cutUtf8(message, 4096).text } } });
}

export function engineError(message: string, code: EngineError_Code, fatal: boolean): AgentEvent {
  return create(AgentEventSchema, { kind: { case: 'error', value: { message: cutUtf8(message, 4096).text, code, fatal } } });
}

export function turnCompleted(init: TurnCompletedInit): AgentEvent {
  return create(AgentEventSchema, { kind: { case: 'turnCompleted', value: init } });
}

/** A line no rule knows, cut to 64 KiB. */
export function rawLine(line: string, alreadyTruncated = false): AgentEvent {
  const cut = cutUtf8(line);
  return create(AgentEventSchema, { kind: { case: 'raw', value: { line: cut.text, truncated: cut.truncated || alreadyTruncated } } });
}

/**
 * A tool input as a protobuf Value. An input bigger than 64 KiB (a whole file handed to Write) becomes the
 * beginning of its JSON text, so one event stays small enough for the brain's stream.
 */
export function toolInput(input: unknown): Value {
  if (input === undefined) return fromJson(ValueSchema, null);
  const json = JSON.stringify(input);
  if (json.length > KEPT_TEXT_BYTES / 3) {
    const cut = cutUtf8(json);
    if (cut.truncated) return fromJson(ValueSchema, cut.text);
  }
  return fromJson(ValueSchema, input as JsonValue);
}

/** Guesses the error code from an engine's message; engines give no machine-readable code in their CLIs. */
export function errorCodeOf(message: string): EngineError_Code {
  if (/rate.?limit|\b429\b|too many requests|quota/i.test(message)) return EngineError_Code.RATE_LIMIT;
  if (/unauthori[sz]ed|\b401\b|\b403\b|auth|api key|log ?in/i.test(message)) return EngineError_Code.AUTH;
  if (/context (window|length)|too long|maximum context|token limit/i.test(message)) return EngineError_Code.CONTEXT;
  return EngineError_Code.OTHER;
}
