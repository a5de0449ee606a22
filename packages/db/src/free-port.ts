import { createServer } from 'node:net';

/**
 * Asks the kernel for a free TCP port on 127.0.0.1 by binding port 0 and releasing it again.
 *
 * Another process could take the port between this call and its use; that race is accepted because
 * the callers (servers started for tests and laptops) fail loudly when the port is taken.
 */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('the kernel gave no port'))));
    });
  });
}
