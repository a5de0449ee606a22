/** A failed tool call, answered to the engine as ToolResult.error with this reason and message. */
export class ToolCallError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}
