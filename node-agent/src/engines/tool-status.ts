import { ToolStatus } from '@foundation/contracts';

/** An engine's word for how a tool call ended, mapped onto the contract's statuses. */
export function toolStatusOf(status: string | undefined): ToolStatus {
  switch (status) {
    case 'completed':
    case 'success':
      return ToolStatus.COMPLETED;
    case 'failed':
    case 'error':
      return ToolStatus.FAILED;
    case 'declined':
    case 'rejected':
      return ToolStatus.DECLINED;
    case 'cancelled':
    case 'aborted':
      return ToolStatus.CANCELLED;
    default:
      return ToolStatus.UNSPECIFIED;
  }
}
