import { create, type JsonObject } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import { ENGINE_CATALOG } from '@foundation/agent-engines';
import { ConnectorSchema, type Connector, type EchoRequest, type MetaService } from '@foundation/contracts';
import type { ConnectorDescription } from '@foundation/connectors';
import { invalidFields } from '@foundation/kit';

const ECHO_MAX = 1024;

/** What the platform says about itself; the same facts answer the RPC and the plain GET. */
export interface PlatformVersion {
  version: string;
  apiVersion: string;
  runtime: string;
}

export class MetaServiceImpl implements ServiceImpl<typeof MetaService> {
  private readonly connectors: Connector[];

  constructor(
    private readonly platform: PlatformVersion,
    catalog: ConnectorDescription[],
  ) {
    this.connectors = catalog.map(connectorMessage);
  }

  getVersion() {
    return { ...this.platform };
  }

  echo(req: EchoRequest) {
    if ([...req.message].length > ECHO_MAX) throw invalidFields([{ field: 'message', description: `must be at most ${ECHO_MAX} characters` }]);
    return { message: req.message };
  }

  listConnectors() {
    return { connectors: this.connectors };
  }

  listEngines() {
    return { engines: ENGINE_CATALOG.map((engine) => ({ ...engine })) };
  }
}

function connectorMessage(c: ConnectorDescription): Connector {
  return create(ConnectorSchema, {
    id: c.id,
    version: c.version,
    displayName: c.displayName,
    description: c.description,
    credential: c.credential,
    actions: c.actions.map((a) => ({
      ref: a.ref,
      id: a.id,
      description: a.description,
      inputSchema: a.inputSchema as JsonObject,
      outputSchema: a.outputSchema as JsonObject,
    })),
  });
}
