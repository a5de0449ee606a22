import type { ConnectorCatalog, JsonValue } from '@foundation/connectors';
import { readTemplate } from './expression-fields.js';
import type { ConfigScope } from './node-config.js';
import { isJsonObject, type FieldReader } from './spec-fields.js';
import { SECRET_NAME_PATTERN } from './spec-limits.js';
import { parsePath, type SpecPath } from './spec-problem.js';
import type { Template } from './template.js';

/** `connector.action`: runs `<connector>.<action>` from the catalog with the rendered params. */
export interface ConnectorActionConfig {
  connector: string;
  action: string;
  /** `<connector>.<action>`, what the catalog and `runAction` take. */
  actionRef: string;
  /** The name of the org secret the action runs with, resolved server-side at run time. */
  credential?: string;
  /** The action's input; its strings may hold `{{ expr }}`. */
  params: Template;
}

export function readConnectorActionConfig(reader: FieldReader, scope: ConfigScope): ConnectorActionConfig | undefined {
  reader.onlyKeys(['connector', 'action', 'credential', 'params'], 'a connector.action config');
  const connector = reader.string('connector', { required: true });
  const action = reader.string('action', { required: true });
  const credential = reader.string('credential', {
    pattern: SECRET_NAME_PATTERN,
    patternHint: 'a secret name: 1 to 128 letters, digits, _, . or -',
  });
  const rawParams = reader.raw('params') ?? {};
  let params: Template | undefined;
  if (isJsonObject(rawParams)) params = readTemplate(reader, 'params', rawParams as JsonValue, scope.nodeId);
  else reader.report('params', 'must be an object: the action input');
  if (connector === undefined || action === undefined || params === undefined) return undefined;
  if (scope.catalog !== undefined) checkAgainstCatalog(reader, scope.catalog, { connector, action, params }, rawParams);
  return { connector, action, actionRef: `${connector}.${action}`, ...(credential === undefined ? {} : { credential }), params };
}

/**
 * The connector and action must exist, a credential is needed when the connector cannot work without one,
 * and the params must fit the action's input schema. Params are checked as written: a template string
 * has no value yet, so problems at or below one are dropped, except that an unknown key stays unknown
 * whatever its value; a missing required param is still reported. (`(input)` for the root and "is not
 * allowed" for an unknown key are how the connectors' input validator words those.)
 */
function checkAgainstCatalog(
  reader: FieldReader,
  catalog: ConnectorCatalog,
  config: Pick<ConnectorActionConfig, 'connector' | 'action' | 'params'>,
  rawParams: unknown,
): void {
  const definition = catalog.getConnector(config.connector);
  if (definition === undefined) {
    reader.report('connector', `is not a connector; the catalog has ${catalog.list().map((c) => c.id).join(', ')}`);
    return;
  }
  const ref = `${config.connector}.${config.action}`;
  if (catalog.getAction(ref) === undefined) {
    reader.report('action', `is not an action of ${config.connector}; it has ${definition.actions.map((a) => a.id).join(', ')}`);
    return;
  }
  const { credential } = definition;
  // A credential that is there but malformed has been reported already.
  const unset = reader.raw('credential') === undefined || reader.raw('credential') === '';
  if (credential.kind !== 'none' && !credential.optional && unset) {
    reader.report('credential', `is required: ${config.connector} needs a secret (${credential.description})`);
  }
  for (const problem of catalog.checkInput(ref, rawParams)) {
    const at = problem.path === '(input)' ? [] : parsePath(problem.path);
    const unknownKey = problem.message === 'is not allowed';
    const templated = config.params.templatedPaths.some((path) => isWithin(at, path) && !(unknownKey && at.length === path.length));
    if (!templated) reader.problems.add([...reader.at('params'), ...at], problem.message);
  }
}

function isWithin(path: SpecPath, ancestor: SpecPath): boolean {
  return ancestor.length <= path.length && ancestor.every((segment, index) => path[index] === segment);
}
