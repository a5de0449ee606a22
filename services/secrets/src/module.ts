import { SecretsService } from '@foundation/contracts';
import { createOrm } from '@foundation/db';
import type { Logger, ServiceModule } from '@foundation/kit';
import { DataKeys } from './data-keys.js';
import { SECRETS_ENTITIES } from './entities.js';
import { MasterKeyring, type MasterKeySource } from './master-keyring.js';
import { SecretStore } from './secret-store.js';
import { SecretsServiceImpl } from './secrets-service.js';

export interface SecretsModuleOptions {
  /** The app role's connection string (not the schema owner's). */
  databaseUrl: string;
  databasePoolMax: number;
  /** The master keys that wrap the orgs' data keys. */
  masterKeys: MasterKeySource;
  /** For failures that need an operator (a value that no longer decrypts); never given a value. */
  log: Logger;
}

/** Loads the master keys first: a missing or malformed keyring stops the start with a ConfigError. */
export async function createSecretsModule(options: SecretsModuleOptions): Promise<ServiceModule> {
  const masterKeys = await MasterKeyring.load(options.masterKeys);
  const orm = await createOrm({ url: options.databaseUrl, entities: SECRETS_ENTITIES, poolMax: options.databasePoolMax });
  const impl = new SecretsServiceImpl(new SecretStore(orm.em, new DataKeys(masterKeys)), options.log);
  return {
    name: 'secrets',
    serviceNames: [SecretsService.typeName],
    registerRpc: (router) => router.service(SecretsService, impl),
    checkReady: async () => {
      await orm.em.getConnection().execute('select 1');
    },
    close: () => orm.close(),
  };
}
