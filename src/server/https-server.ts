import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';
import type { TlsMaterial } from '../certificates/tls-files.js';

export interface StartedServer {
  server: Server;
  /** The bound address, so tests can listen on port 0. */
  url: string;
  port: number;
  /** Swap certificate and key without a restart; open connections keep working. */
  setTls(material: TlsMaterial): void;
  close(): Promise<void>;
}

// The API server keeps idle connections to webhooks for up to 90 s (Go's
// default); if Node closed them first (its default is 5 s) the API server
// would hit reset connections. Stay above 90 s.
const KEEP_ALIVE_MS = 120_000;

export async function startHttpsServer(app: RequestListener, tls: TlsMaterial, port: number, host?: string): Promise<StartedServer> {
  const server = createServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, app);
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    port: address.port,
    url: `https://${shownHost === '0.0.0.0' || shownHost === '[::]' ? 'localhost' : shownHost}:${address.port}`,
    setTls: (material) => server.setSecureContext({ cert: material.cert, key: material.key, minVersion: 'TLSv1.2' }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
