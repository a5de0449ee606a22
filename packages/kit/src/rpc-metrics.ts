import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The Prometheus registry of one process and the RPC instruments the request interceptor updates. */
export class RpcMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'foundation_rpc_requests_total',
    help: 'RPCs handled, by service, method and result code.',
    labelNames: ['service', 'method', 'code'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'foundation_rpc_duration_seconds',
    help: 'RPC handling time, by service, method and result code.',
    labelNames: ['service', 'method', 'code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  observe(service: string, method: string, code: string, seconds: number): void {
    this.requests.inc({ service, method, code });
    this.duration.observe({ service, method, code }, seconds);
  }
}
