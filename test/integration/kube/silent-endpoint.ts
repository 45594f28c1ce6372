import { createServer, type Server, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

/**
 * A TCP endpoint that accepts every connection and never sends a byte: what a
 * half-dead API server, a stalled proxy or a blackholed route looks like to a
 * client (no refusal, no reset, no TLS handshake, nothing).
 */
export interface SilentEndpoint {
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  kubeConfig(): KubeConfig;
  close(): Promise<void>;
}

export async function startSilentEndpoint(): Promise<SilentEndpoint> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  const port = address.port;
  return {
    port,
    accepted: () => accepted,
    kubeConfig: () => {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'silent', server: `https://127.0.0.1:${port}`, skipTLSVerify: true }],
        users: [{ name: 'sa', token: 'not-a-real-token' }],
        contexts: [{ name: 'silent', cluster: 'silent', user: 'sa', namespace: 'wutong-backup' }],
        currentContext: 'silent',
      });
      return kc;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
