import { createGrpcTransport } from '@connectrpc/connect-node';
import { findFreePort } from '@foundation/db';
import { clientsOver, type PlatformClients } from '@foundation/testing';
import { startExternalInfrastructure, type ExternalInfrastructure } from '../../../test/support/external-infrastructure.js';
import { FoundationProcess } from '../../../test/support/foundation-process.js';

/**
 * The platform as two `foundation start` processes on one database and Redis: the brain alone, on a port
 * fixed up front so it can be killed (kill -9) and started again where its nodes reconnect, and every other
 * service the brain and the sessions need in a second process.
 */
export class PlatformWithBrainProcess {
  private constructor(
    private readonly infrastructure: ExternalInfrastructure,
    private readonly services: FoundationProcess,
    private brain: FoundationProcess,
    private readonly brainEnv: Record<string, string>,
    readonly brainUrl: string,
    /** Sessions, auth and org at the services process; pairing and executors at the brain. */
    readonly clients: PlatformClients,
  ) {}

  static async start(brainSettings: Record<string, string> = {}): Promise<PlatformWithBrainProcess> {
    const infrastructure = await startExternalInfrastructure();
    const servicesPort = await findFreePort();
    let brainPort = await findFreePort();
    while (brainPort === servicesPort) brainPort = await findFreePort();
    const servicesUrl = `http://127.0.0.1:${servicesPort}`;
    const brainUrl = `http://127.0.0.1:${brainPort}`;
    const shared = { ...infrastructure.env, FOUNDATION_MIGRATE_ON_START: 'false' };
    const services = new FoundationProcess(['start', '--target=auth,org,secrets,workflow,session'], {
      ...shared,
      FOUNDATION_PORT: String(servicesPort),
      FOUNDATION_BRAIN_URL: brainUrl,
    });
    const brainEnv = {
      ...shared,
      ...brainSettings,
      FOUNDATION_PORT: String(brainPort),
      FOUNDATION_AUTH_URL: servicesUrl,
      FOUNDATION_ORG_URL: servicesUrl,
      FOUNDATION_SECRETS_URL: servicesUrl,
      FOUNDATION_SESSION_URL: servicesUrl,
    };
    const brain = new FoundationProcess(['start', '--target=brain'], brainEnv);
    await Promise.all([services.waitUntilReady(servicesUrl), brain.waitUntilReady(brainUrl)]);
    const atServices = clientsOver(createGrpcTransport({ baseUrl: servicesUrl }));
    const atBrain = clientsOver(createGrpcTransport({ baseUrl: brainUrl }));
    const clients = { ...atServices, pairing: atBrain.pairing, executors: atBrain.executors };
    return new PlatformWithBrainProcess(infrastructure, services, brain, brainEnv, brainUrl, clients);
  }

  /** Kills the brain the way a crash does: SIGKILL, no chance to close a stream or write anything. */
  async killBrain(): Promise<void> {
    this.brain.kill('SIGKILL');
    await this.brain.exited;
  }

  /** Starts the brain again on the same port and waits until it is ready. */
  async restartBrain(): Promise<void> {
    this.brain = new FoundationProcess(['start', '--target=brain'], this.brainEnv);
    await this.brain.waitUntilReady(this.brainUrl);
  }

  /** Both processes' output, for a failed test. */
  describe(): string {
    return `=== services ===\n${this.services.describe()}\n=== brain ===\n${this.brain.describe()}`;
  }

  async close(): Promise<void> {
    await Promise.all([this.services.stop(), this.brain.stop()]);
    await this.infrastructure.close();
  }
}
