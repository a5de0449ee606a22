export { createBuiltinCatalog } from './builtin-catalog.js';
export { ConnectorCatalog, describeCatalog } from './catalog.js';
export type {
  ActionContext,
  ActionDefinition,
  ActionDescription,
  BaseUrls,
  ConnectorDefinition,
  ConnectorDescription,
  CredentialKind,
  CredentialRequirement,
  JsonSchema,
  JsonValue,
  ResolvedAction,
} from './catalog.js';
export {
  ConnectorCancelledError,
  ConnectorCredentialError,
  ConnectorError,
  ConnectorHttpError,
  ConnectorInputError,
  ConnectorInternalError,
  ConnectorNetworkError,
  ConnectorTimeoutError,
  EgressDeniedError,
  ResponseTooLargeError,
  TooManyRedirectsError,
  UnknownActionError,
} from './connector-errors.js';
export type { ConnectorErrorReason, InputProblem } from './connector-errors.js';
export { vetEgressTarget } from './egress-guard.js';
export type { EgressPolicy, VettedAddress, VettedTarget } from './egress-guard.js';
export type { OutboundRequest, OutboundResponse } from './guarded-http.js';
export { runAction } from './run-action.js';
export type { ActionResult, ConnectorLimits, RunActionOptions } from './run-action.js';
