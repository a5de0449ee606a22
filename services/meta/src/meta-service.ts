import type { ServiceImpl } from '@connectrpc/connect';
import type { EchoRequest, MetaService } from '@foundation/contracts';
import { invalidFields } from '@foundation/kit';

const ECHO_MAX = 1024;

/** What the platform says about itself; the same facts answer the RPC and the plain GET. */
export interface PlatformVersion {
  version: string;
  apiVersion: string;
  runtime: string;
}

export class MetaServiceImpl implements ServiceImpl<typeof MetaService> {
  constructor(private readonly platform: PlatformVersion) {}

  getVersion() {
    return { ...this.platform };
  }

  echo(req: EchoRequest) {
    if ([...req.message].length > ECHO_MAX) throw invalidFields([{ field: 'message', description: `must be at most ${ECHO_MAX} characters` }]);
    return { message: req.message };
  }
}
