import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/**
 * Plays the webhook's Service (what kube-proxy does for a ClusterIP): a
 * loopback TCP port that hands each new connection to one of the backends
 * that accepts. TLS passes through untouched, so the API server talks to the
 * replicas themselves, as in a cluster.
 */
export interface ServiceStandIn {
  /** https://127.0.0.1:<port> */
  url: string;
  setBackends(ports: readonly number[]): void;
  /** The proxy underneath, for tests that break the network on purpose. */
  proxy: TcpProxy;
  close(): Promise<void>;
}

export async function startServiceStandIn(): Promise<ServiceStandIn> {
  let backends: readonly number[] = [];
  const proxy = await startTcpProxy(() => backends);
  return {
    url: `https://127.0.0.1:${proxy.port}`,
    setBackends(ports) {
      backends = [...ports];
    },
    proxy,
    close: () => proxy.close(),
  };
}
