import { create, fromJson, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { ConnectError, type Client } from '@connectrpc/connect';
import { ToolErrorSchema, ToolResultSchema, type SecretsService, type ToolCall, type ToolResult } from '@foundation/contracts';
import { ConnectorError, runAction, type ConnectorCatalog, type ConnectorLimits } from '@foundation/connectors';
import { reasonOf, type Logger } from '@foundation/kit';
import type { AgentExecuteTool } from './agent-execute-tool.js';
import { ToolCallError } from './tool-call-error.js';

/**
 * Runs the tools an engine calls through a node's local MCP server, server-side, so the org's secrets
 * never reach the node. `connector_action` runs a catalog action with the named secret, resolved from the
 * secrets service at that moment (audited against the task) and kept inside this call: neither the
 * result, nor an error, nor a log line carries it. `agent_execute` runs one turn of another agent of the
 * organization and answers its final message. `signal` aborts when the calling task stops on its node.
 */
export class ToolBridge {
  constructor(
    private readonly catalog: ConnectorCatalog,
    private readonly secrets: Client<typeof SecretsService>,
    private readonly limits: ConnectorLimits,
    private readonly agentExecute: AgentExecuteTool,
    private readonly log: Logger,
  ) {}

  async call(orgId: string, call: ToolCall, signal: AbortSignal): Promise<ToolResult> {
    try {
      const output = await this.run(orgId, call, signal);
      return create(ToolResultSchema, { taskId: call.taskId, callId: call.callId, outcome: { case: 'result', value: fromJson(ValueSchema, output) } });
    } catch (error) {
      const { reason, message } = this.describe(error, call);
      return toolError(call, reason, message);
    }
  }

  private async run(orgId: string, call: ToolCall, signal: AbortSignal): Promise<JsonValue> {
    switch (call.tool) {
      case 'connector_action':
        return this.connectorAction(orgId, call, signal);
      case 'agent_execute':
        return this.agentExecute.run(orgId, call, signal);
      default:
        throw new ToolCallError('INVALID_FIELD', `tool: no tool ${JSON.stringify(call.tool)}; use connector_action or agent_execute`);
    }
  }

  private async connectorAction(orgId: string, call: ToolCall, signal: AbortSignal): Promise<JsonValue> {
    const { action, input, secretName } = connectorArguments(call.arguments);
    let secret: string | undefined;
    if (secretName !== undefined) {
      secret = (await this.secrets.resolveSecret({ orgId, name: secretName, runId: call.taskId }, { signal })).value;
    }
    const { output } = await runAction(this.catalog, action, input, { ...this.limits, secret, signal });
    return output;
  }

  /**
   * What the engine is told; errors from the secrets service and connectors carry safe messages by design.
   * agent_execute answers every error of its own as a ToolCallError, so a ConnectError here is the secrets service's.
   */
  private describe(error: unknown, call: ToolCall): { reason: string; message: string } {
    if (error instanceof ToolCallError) return { reason: error.reason, message: error.message };
    if (error instanceof ConnectorError) return { reason: error.reason, message: error.message };
    if (error instanceof ConnectError) {
      return { reason: reasonOf(error) ?? 'DEPENDENCY_UNAVAILABLE', message: `the secret could not be resolved: ${error.rawMessage}` };
    }
    this.log.error({ err: error, taskId: call.taskId, tool: call.tool }, 'a tool call failed unexpectedly');
    return { reason: 'INTERNAL', message: 'the tool call failed on the server' };
  }
}

/** A ToolResult refusing the call, for calls the bridge does not even run (a task the node does not hold). */
export function toolError(call: ToolCall, reason: string, message: string): ToolResult {
  return create(ToolResultSchema, {
    taskId: call.taskId,
    callId: call.callId,
    outcome: { case: 'error', value: create(ToolErrorSchema, { reason, message }) },
  });
}

/** `{action: "slack.postMessage", input: {...}, secret?: "<secret name>"}`. */
function connectorArguments(args: JsonObject | undefined): { action: string; input: JsonValue; secretName?: string } {
  const action = args?.['action'];
  if (typeof action !== 'string' || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(action)) {
    throw new ToolCallError('INVALID_FIELD', 'arguments.action: name the action as "<connector>.<action>", for example "slack.postMessage"');
  }
  const input = args?.['input'] ?? {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ToolCallError('INVALID_FIELD', 'arguments.input: must be an object of the action’s inputs');
  }
  const secretName = args?.['secret'];
  if (secretName !== undefined && (typeof secretName !== 'string' || secretName === '')) {
    throw new ToolCallError('INVALID_FIELD', 'arguments.secret: must be the name of one of the organization’s secrets');
  }
  return { action, input, secretName };
}
