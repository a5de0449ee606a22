import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter } from '@connectrpc/connect';
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthCheckResponseSchema,
  type HealthCheckResponse,
} from '@foundation/contracts';

/**
 * What `grpc.health.v1.Health`, `/healthz` and `/readyz` report. A process is live while it runs; it is
 * ready (serving) once started and until shutdown begins, and only while its dependencies answer.
 */
export class HealthState {
  private serving = false;

  constructor(
    private readonly services: string[],
    private readonly checkDependencies: () => Promise<void>,
  ) {}

  setServing(serving: boolean): void {
    this.serving = serving;
  }

  /** Resolves when ready; rejects with the reason otherwise. */
  async assertReady(): Promise<void> {
    if (!this.serving) throw new Error('not serving (starting or shutting down)');
    await this.checkDependencies();
  }

  async status(service: string): Promise<ServingStatus> {
    if (service !== '' && !this.services.includes(service)) {
      throw new ConnectError(`this process does not serve ${service}`, Code.NotFound);
    }
    try {
      await this.assertReady();
      return ServingStatus.SERVING;
    } catch {
      return ServingStatus.NOT_SERVING;
    }
  }

  allServices(): string[] {
    return ['', ...this.services];
  }
}

export function registerHealthService(router: ConnectRouter, state: HealthState): void {
  const response = (status: ServingStatus): HealthCheckResponse => create(HealthCheckResponseSchema, { status });
  router.service(Health, {
    async check(req) {
      return response(await state.status(req.service));
    },
    async *watch(req, ctx) {
      let last: ServingStatus | undefined;
      while (!ctx.signal.aborted) {
        const status = await state.status(req.service);
        if (status !== last) yield response(status);
        last = status;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    },
    async list() {
      const statuses: Record<string, HealthCheckResponse> = {};
      for (const service of state.allServices()) statuses[service] = response(await state.status(service));
      return { statuses };
    },
  });
}
