import type { ServiceImpl } from '@connectrpc/connect';
import type { MetaService } from '@foundation/contracts';

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
}
