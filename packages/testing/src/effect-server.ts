import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the server received. */
export interface Delivery {
  path: string;
  idempotencyKey: string;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** How the server answers a path: fail the first `failures` deliveries with `failStatus`, answer after `delayMs`. */
export interface PathBehaviour {
  failures?: number;
  failStatus?: number;
  delayMs?: number;
}

export interface EffectServer {
  /** http://127.0.0.1:<port> */
  url: string;
  deliveries: Delivery[];
  /** Distinct side effects per path: deliveries with the same Idempotency-Key count once. */
  effects(path: string): number;
  /** Resolves with the first delivery to `path` (already received or still to come). */
  nextDelivery(path: string): Promise<Delivery>;
  behave(path: string, behaviour: PathBehaviour): void;
  close(): Promise<void>;
}

/**
 * A local HTTP server standing in for a third-party API that workflow nodes call: it records every
 * delivery and treats an `Idempotency-Key` the way such APIs do, so a test can tell a retried request
 * (same key, one effect) from a duplicated side effect. Answers JSON `{ "ok": true, "path": … }`.
 */
export async function startEffectServer(): Promise<EffectServer> {
  const deliveries: Delivery[] = [];
  const behaviours = new Map<string, PathBehaviour>();
  const seen = new Map<string, number>();
  const waiters: { path: string; resolve: (d: Delivery) => void }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const delivery: Delivery = { path, idempotencyKey: String(req.headers['idempotency-key'] ?? ''), body: Buffer.concat(chunks).toString(), headers: req.headers };
      deliveries.push(delivery);
      for (const waiter of waiters.filter((w) => w.path === path)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(delivery);
      }
      const behaviour = behaviours.get(path) ?? {};
      const count = (seen.get(path) ?? 0) + 1;
      seen.set(path, count);
      const answer = () => {
        if (count <= (behaviour.failures ?? 0)) {
          res.writeHead(behaviour.failStatus ?? 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, attempt: count }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, path, attempt: count }));
      };
      if (behaviour.delayMs) setTimeout(answer, behaviour.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    effects: (path) => {
      const forPath = deliveries.filter((d) => d.path === path);
      const keyed = new Set(forPath.filter((d) => d.idempotencyKey !== '').map((d) => d.idempotencyKey));
      return keyed.size + forPath.filter((d) => d.idempotencyKey === '').length;
    },
    nextDelivery: (path) => {
      const existing = deliveries.find((d) => d.path === path);
      if (existing) return Promise.resolve(existing);
      return new Promise((resolve) => waiters.push({ path, resolve }));
    },
    behave: (path, behaviour) => void behaviours.set(path, behaviour),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
