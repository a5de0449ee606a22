import type { Client } from '@connectrpc/connect';
import { OrgService, type AuthService } from '@foundation/contracts';
import { createOrm } from '@foundation/db';
import type { ServiceModule } from '@foundation/kit';
import { ORG_ENTITIES } from './entities.js';
import { MembershipStore } from './membership-store.js';
import { OrgServiceImpl } from './org-service.js';

export interface OrgModuleOptions {
  /** The app role's connection string (not the schema owner's). */
  databaseUrl: string;
  databasePoolMax: number;
  /** The auth service, for account lookups on the caller's behalf. */
  auth: Client<typeof AuthService>;
}

export async function createOrgModule(options: OrgModuleOptions): Promise<ServiceModule> {
  const orm = await createOrm({ url: options.databaseUrl, entities: ORG_ENTITIES, poolMax: options.databasePoolMax });
  const impl = new OrgServiceImpl(new MembershipStore(orm.em), options.auth);
  return {
    name: 'org',
    serviceNames: [OrgService.typeName],
    registerRpc: (router) => router.service(OrgService, impl),
    checkReady: async () => {
      await orm.em.getConnection().execute('select 1');
    },
    close: () => orm.close(),
  };
}
