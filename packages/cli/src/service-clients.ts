import type { Client } from '@connectrpc/connect';
import { AgentRunService, AuthService, OrgService, RunProgressService, SecretsService, SessionTaskSinkService, TaskService } from '@foundation/contracts';
import { ConfigError, createServiceClient, type ServiceLocation, type ServiceTokenIssuer, type TransportFactory } from '@foundation/kit';
import type { FoundationConfig } from './config.js';
import type { Target } from './targets.js';

export interface ServiceClients {
  auth: Client<typeof AuthService>;
  org: Client<typeof OrgService>;
  secrets: Client<typeof SecretsService>;
  runProgress: Client<typeof RunProgressService>;
  /** The brain's task queue, which the session service hands turns to. */
  tasks: Client<typeof TaskService>;
  /** Where the brain records what nodes report about their tasks: the session service. */
  sessionTaskSink: Client<typeof SessionTaskSinkService>;
  /**
   * The session service's one-turn sessions: the worker runs `agent.run` nodes through them, the brain the
   * tool bridge's `agent_execute` calls.
   */
  agentRuns: Client<typeof AgentRunService>;
}

type UrlVariable = 'FOUNDATION_AUTH_URL' | 'FOUNDATION_ORG_URL' | 'FOUNDATION_SECRETS_URL' | 'FOUNDATION_WORKFLOW_URL' | 'FOUNDATION_SESSION_URL' | 'FOUNDATION_BRAIN_URL';

/**
 * Clients of other services for one calling service (`identity`): in-process for services this process
 * runs, gRPC to FOUNDATION_<SERVICE>_URL for the others (a missing URL is a configuration error naming the
 * variable). Auth and org are located at once, since every process's interceptors call them; the others
 * when first asked for, so only a process whose targets call a service (the worker calls secrets and workflow) needs
 * its URL — still at start, where the target is built.
 */
export function createServiceClients(
  config: FoundationConfig,
  targets: ReadonlySet<Target>,
  inProcess: TransportFactory,
  identity: ServiceTokenIssuer,
): ServiceClients {
  const locate = (target: Target, variable: UrlVariable): ServiceLocation => {
    if (targets.has(target)) return { inProcess };
    const baseUrl = config[variable];
    if (!baseUrl) throw new ConfigError(`this process does not run the ${target} service: set ${variable} to where it runs`);
    return { baseUrl };
  };
  let secrets: Client<typeof SecretsService> | undefined;
  let runProgress: Client<typeof RunProgressService> | undefined;
  let tasks: Client<typeof TaskService> | undefined;
  let sessionTaskSink: Client<typeof SessionTaskSinkService> | undefined;
  let agentRuns: Client<typeof AgentRunService> | undefined;
  return {
    auth: createServiceClient(AuthService, locate('auth', 'FOUNDATION_AUTH_URL'), identity),
    org: createServiceClient(OrgService, locate('org', 'FOUNDATION_ORG_URL'), identity),
    get secrets() {
      return (secrets ??= createServiceClient(SecretsService, locate('secrets', 'FOUNDATION_SECRETS_URL'), identity));
    },
    get runProgress() {
      return (runProgress ??= createServiceClient(RunProgressService, locate('workflow', 'FOUNDATION_WORKFLOW_URL'), identity));
    },
    get tasks() {
      return (tasks ??= createServiceClient(TaskService, locate('brain', 'FOUNDATION_BRAIN_URL'), identity));
    },
    get sessionTaskSink() {
      return (sessionTaskSink ??= createServiceClient(SessionTaskSinkService, locate('session', 'FOUNDATION_SESSION_URL'), identity));
    },
    get agentRuns() {
      return (agentRuns ??= createServiceClient(AgentRunService, locate('session', 'FOUNDATION_SESSION_URL'), identity));
    },
  };
}
