import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * Plays the webhook's Service (what kube-proxy does for a ClusterIP): a
 * loopback TCP port that hands each new connection to the next backend in
 * turn. TLS passes through untouched, so the API server talks to the
 * replicas themselves, as in a cluster.
 */
export interface ServiceStandIn {
  /** https://127.0.0.1:<port> */
  url: string;
  setBackends(ports: readonly number[]): void;
  close(): Promise<void>;
}

export async function startServiceStandIn(): Promise<ServiceStandIn> {
  let backends: readonly number[] = [];
  let next = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    if (backends.length === 0) {
      client.destroy();
      return;
    }
    const port = backends[next++ % backends.length]!;
    const upstream = connect(port, '127.0.0.1');
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
    client.pipe(upstream).pipe(client);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    setBackends(ports) {
      backends = [...ports];
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
