import { createConfiguration, ServerConfiguration, type Configuration, type KubeConfig, type Middleware, type RequestContext } from '@kubernetes/client-node';

/**
 * Upper bound on one Kubernetes API call, connection and body included. The
 * API server answers a healthy GET or PATCH in milliseconds and gives up on
 * its own requests after 60 s; 15 s leaves room for a loaded control plane
 * while making sure a request to a connection that accepts and never answers
 * (a half-dead node, a stalled proxy) fails instead of waiting forever.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

type ApiConstructor<T> = new (configuration: Configuration) => T;

/**
 * kubeConfig.makeApiClient(Api), except that every request made through the
 * client is aborted after timeoutMs (client-node sets no timeout at all). The
 * abort also tears the socket down, so nothing is left waiting on it.
 */
export function makeApiClient<T>(kubeConfig: KubeConfig, api: ApiConstructor<T>, timeoutMs: number = DEFAULT_REQUEST_TIMEOUT_MS): T {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kubeConfig },
    promiseMiddleware: [requestTimeout(timeoutMs)],
  });
  return new api(configuration);
}

function requestTimeout(timeoutMs: number): Middleware {
  return {
    pre: (context: RequestContext) => {
      const deadline = AbortSignal.timeout(timeoutMs);
      const existing = context.getSignal();
      context.setSignal(existing ? AbortSignal.any([existing, deadline]) : deadline);
      return Promise.resolve(context);
    },
    post: (context) => Promise.resolve(context),
  };
}
