import type { JsonObject, JsonValue } from '@bufbuild/protobuf';

/**
 * The local channel between a task's MCP server process and the daemon: one JSON object per line over a
 * unix socket (a named pipe on Windows) only this user can open. Each request carries the task's random
 * token, which is how the daemon knows the task and refuses any other process on the machine.
 */
export interface RelayRequest {
  id: number;
  token: string;
  tool: BridgeTool;
  arguments: JsonObject;
}

export type RelayResponse = { id: number; result: JsonValue } | { id: number; error: ToolFailure };

export interface ToolFailure {
  /** For example "INVALID_FIELD", "CONNECTOR_FAILED", "UNAVAILABLE". */
  reason: string;
  message: string;
}

/** The tools the platform offers an engine through the bridge. */
export const BRIDGE_TOOLS = ['connector_action', 'agent_execute'] as const;
export type BridgeTool = (typeof BRIDGE_TOOLS)[number];

/** Environment of the MCP server process: where the relay listens and the task's token. */
export const RELAY_ADDRESS_ENV = 'FOUNDATION_AGENT_TOOL_RELAY';
export const RELAY_TOKEN_ENV = 'FOUNDATION_AGENT_TOOL_TOKEN';

/** A tool call's outcome as the daemon relays it back. */
export type ToolOutcome = { result: JsonValue } | { error: ToolFailure };
