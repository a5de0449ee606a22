import { randomUUID } from 'node:crypto';
import { create, toJson, type JsonObject } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import { ConnectRequestSchema, ToolCallSchema, type ConnectRequest, type ToolResult } from '@foundation/contracts';
import type { BridgeTool, ToolOutcome } from './relay-protocol.js';

interface PendingCall {
  taskId: string;
  request: ConnectRequest;
  /** Whether the call went out on the current connection. */
  sent: boolean;
  settle(outcome: ToolOutcome): void;
}

export interface ToolCallBrokerOptions {
  /** Puts a message on the brain stream; false while there is no connection. */
  send(message: ConnectRequest): boolean;
  /** A call without a result after this long fails with TIMEOUT. */
  timeoutMs: number;
}

/**
 * Turns the tool bridge's calls into ToolCall messages on the brain stream and their ToolResults back into
 * outcomes. A call waits for a connection if there is none; a call already sent when the connection drops
 * fails (UNAVAILABLE) rather than being sent twice, because a connector action may not be safe to repeat.
 */
export class ToolCallBroker {
  private readonly pending = new Map<string, PendingCall>();

  constructor(private readonly options: ToolCallBrokerOptions) {}

  call(taskId: string, leaseToken: string, tool: BridgeTool, args: JsonObject): Promise<ToolOutcome> {
    const callId = randomUUID();
    const request = create(ConnectRequestSchema, {
      kind: { case: 'toolCall', value: create(ToolCallSchema, { taskId, leaseToken, callId, tool, arguments: args }) },
    });
    return new Promise<ToolOutcome>((resolve) => {
      const timer = setTimeout(
        () => this.settle(callId, { error: { reason: 'TIMEOUT', message: `the platform gave no result within ${this.options.timeoutMs / 1000}s` } }),
        this.options.timeoutMs,
      );
      const settle = (outcome: ToolOutcome) => {
        clearTimeout(timer);
        resolve(outcome);
      };
      const call: PendingCall = { taskId, request, sent: false, settle };
      this.pending.set(callId, call);
      call.sent = this.options.send(request);
    });
  }

  /** A ToolResult from the brain. */
  resolve(result: ToolResult): void {
    const outcome: ToolOutcome =
      result.outcome.case === 'result'
        ? { result: toJson(ValueSchema, result.outcome.value) }
        : { error: { reason: result.outcome.value?.reason || 'TOOL_FAILED', message: result.outcome.value?.message || 'the tool failed' } };
    this.settle(result.callId, outcome);
  }

  /** A new connection is up: send the calls that waited for one. */
  connected(): void {
    for (const call of this.pending.values()) {
      if (!call.sent) call.sent = this.options.send(call.request);
    }
  }

  /** The connection dropped: calls in flight fail, since the platform may or may not have run them. */
  disconnected(): void {
    for (const [callId, call] of this.pending) {
      if (call.sent) {
        this.settle(callId, {
          error: { reason: 'UNAVAILABLE', message: 'the connection to the platform was lost while the tool ran; it may or may not have run' },
        });
      }
    }
  }

  /** The task ended or was dropped: its calls have nobody to answer. */
  forgetTask(taskId: string): void {
    for (const [callId, call] of this.pending) {
      if (call.taskId === taskId) this.settle(callId, { error: { reason: 'CANCELLED', message: 'the task ended' } });
    }
  }

  private settle(callId: string, outcome: ToolOutcome): void {
    const call = this.pending.get(callId);
    if (call === undefined) return;
    this.pending.delete(callId);
    call.settle(outcome);
  }
}
