import { create, toJson } from '@bufbuild/protobuf';
import { ListConnectorsResponseSchema, ListEnginesResponseSchema, MetaService } from '@foundation/contracts';
import { describeCatalog, type ConnectorCatalog } from '@foundation/connectors';
import type { ServiceModule } from '@foundation/kit';
import { MetaServiceImpl, type PlatformVersion } from './meta-service.js';

/**
 * Served by every target: stateless facts about the platform, so Envoy can route `/foundation.meta.v1.`
 * to any instance.
 */
export function createMetaModule(platform: PlatformVersion, catalog: ConnectorCatalog): ServiceModule {
  const impl = new MetaServiceImpl(platform, describeCatalog(catalog));
  return {
    name: 'meta',
    serviceNames: [MetaService.typeName],
    registerRpc: (router) => router.service(MetaService, impl),
    registerHttp: (app) => {
      app.get('/v1/meta/version', (_req, res) => {
        res.json(impl.getVersion());
      });
      app.get('/v1/meta/connectors', (_req, res) => {
        // The same JSON as the RPC over the Connect protocol.
        res.json(toJson(ListConnectorsResponseSchema, create(ListConnectorsResponseSchema, impl.listConnectors())));
      });
      app.get('/v1/agent/engines', (_req, res) => {
        res.json(toJson(ListEnginesResponseSchema, create(ListEnginesResponseSchema, impl.listEngines())));
      });
    },
  };
}
