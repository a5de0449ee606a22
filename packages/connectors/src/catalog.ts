import { UnknownActionError, type InputProblem } from './connector-errors.js';
import type { OutboundRequest, OutboundResponse } from './guarded-http.js';
import { assertSchema, inputValidatorFor } from './input-validator.js';

/** A value that survives `JSON.stringify` unchanged: what schemas, inputs and outputs are made of. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A JSON Schema (draft-07) document, kept as plain JSON so the catalog can be served as it is. */
export type JsonSchema = { [keyword: string]: JsonValue };

/** What kind of secret a connector expects; a closed list so the UI can offer the right input for each. */
export type CredentialKind = 'none' | 'bearer_token' | 'webhook_url' | 'http_credential';

/** The one secret a connector needs, described for people (the value itself only ever reaches `runAction`). */
export interface CredentialRequirement {
  kind: CredentialKind;
  description: string;
  /** True when actions can run without it (an unauthenticated HTTP call). */
  optional: boolean;
}

/** Base URLs of connectors whose upstream is configurable (GitHub Enterprise, or a local test server). */
export interface BaseUrls {
  /** Default `https://api.github.com`. */
  github?: string;
}

/**
 * What an action gets besides its input. `send` is the only way out to the network: it applies the egress
 * guard, timeout, size and redirect limits, so an action cannot forget them.
 */
export interface ActionContext {
  readonly secret: string | undefined;
  readonly baseUrls: BaseUrls;
  send(request: OutboundRequest): Promise<OutboundResponse>;
}

/**
 * One action of a connector. `run` receives input already validated against `inputSchema`, so `Input` is
 * what the schema guarantees; it returns JSON matching `outputSchema`.
 */
export interface ActionDefinition<Input = unknown> {
  readonly id: string;
  readonly description: string;
  readonly inputSchema: JsonSchema;
  readonly outputSchema: JsonSchema;
  run(input: Input, context: ActionContext): Promise<JsonValue>;
}

export interface ConnectorDefinition {
  readonly id: string;
  readonly version: string;
  readonly displayName: string;
  readonly description: string;
  readonly credential: CredentialRequirement;
  readonly actions: readonly ActionDefinition[];
}

/** A connector together with one of its actions, as found by an action reference like `http.request`. */
export interface ResolvedAction {
  ref: string;
  connector: ConnectorDefinition;
  action: ActionDefinition;
}

/** Ids are single words so that `<connector>.<action>` splits unambiguously. */
const ID = /^[a-z][A-Za-z0-9_-]*$/;

/**
 * The connectors a process offers. Construction checks ids and compiles every schema, so a broken
 * connector definition fails at startup rather than on its first run.
 */
export class ConnectorCatalog {
  readonly #connectors = new Map<string, ConnectorDefinition>();
  readonly #actions = new Map<string, ResolvedAction>();

  constructor(connectors: Iterable<ConnectorDefinition>) {
    for (const connector of connectors) {
      if (!ID.test(connector.id)) throw new Error(`invalid connector id ${JSON.stringify(connector.id)}`);
      if (this.#connectors.has(connector.id)) throw new Error(`duplicate connector id ${connector.id}`);
      this.#connectors.set(connector.id, connector);
      for (const action of connector.actions) {
        const ref = `${connector.id}.${action.id}`;
        if (!ID.test(action.id)) throw new Error(`invalid action id ${JSON.stringify(ref)}`);
        if (this.#actions.has(ref)) throw new Error(`duplicate action ${ref}`);
        inputValidatorFor(action);
        assertSchema(action.outputSchema, `output schema of ${ref}`);
        this.#actions.set(ref, { ref, connector, action });
      }
    }
  }

  list(): ConnectorDefinition[] {
    return [...this.#connectors.values()];
  }

  getConnector(id: string): ConnectorDefinition | undefined {
    return this.#connectors.get(id);
  }

  /** Looks up `<connector>.<action>`, e.g. `github.createIssue`. */
  getAction(ref: string): ResolvedAction | undefined {
    return this.#actions.get(ref);
  }

  /**
   * The problems of `input` against the input schema of `ref`, empty when it is valid: what `runAction`
   * would refuse, known before anything runs (a workflow's params are checked when it is saved). Throws
   * `UnknownActionError` for a reference the catalog does not have.
   */
  checkInput(ref: string, input: unknown): InputProblem[] {
    const resolved = this.#actions.get(ref);
    if (resolved === undefined) throw new UnknownActionError(ref);
    return inputValidatorFor(resolved.action)(input);
  }
}

export interface ActionDescription {
  /** The reference `runAction` takes: `<connector>.<action>`. */
  ref: string;
  id: string;
  description: string;
  inputSchema: JsonSchema;
  outputSchema: JsonSchema;
}

export interface ConnectorDescription {
  id: string;
  version: string;
  displayName: string;
  description: string;
  credential: CredentialRequirement;
  actions: ActionDescription[];
}

/**
 * The catalog as plain JSON (no functions, schemas deep-copied) for `ListConnectors` and
 * `GET /v1/meta/connectors`; callers may mutate or serialize it without touching the catalog.
 */
export function describeCatalog(catalog: ConnectorCatalog): ConnectorDescription[] {
  return catalog.list().map((connector) => ({
    id: connector.id,
    version: connector.version,
    displayName: connector.displayName,
    description: connector.description,
    credential: { ...connector.credential },
    actions: connector.actions.map((action) => ({
      ref: `${connector.id}.${action.id}`,
      id: action.id,
      description: action.description,
      inputSchema: structuredClone(action.inputSchema),
      outputSchema: structuredClone(action.outputSchema),
    })),
  }));
}
