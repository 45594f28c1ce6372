import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** How the process reaches a cluster, if it does. */
export interface ClusterAccess {
  kubeConfig: KubeConfig;
  /** "in-cluster" or the kubeconfig path. */
  source: string;
  /** Namespace the webhook runs in (POD_NAMESPACE, the service account's, or the kubeconfig context's). */
  namespace: string;
}

/**
 * In-cluster service account first, then KUBECONFIG or ~/.kube/config.
 * Returns undefined when neither exists: the webhook then runs standalone.
 * @kubernetes/client-node is loaded only when a cluster is found: measured
 * under `npm run bench`, importing it costs a standalone webhook ~80 MiB of
 * RSS it would never use.
 */
export async function findCluster(env: NodeJS.ProcessEnv = process.env): Promise<ClusterAccess | undefined> {
  const inCluster = Boolean(env.KUBERNETES_SERVICE_HOST) && existsSync(SERVICE_ACCOUNT_TOKEN);
  const path = env.KUBECONFIG || join(homedir(), '.kube', 'config');
  if (!inCluster && !existsSync(path)) return undefined;
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kubeConfig = new KubeConfig();
  if (inCluster) {
    // loadFromCluster reads the service account's namespace file into the context.
    kubeConfig.loadFromCluster();
    return { kubeConfig, source: 'in-cluster', namespace: webhookNamespace(kubeConfig, env) };
  }
  kubeConfig.loadFromFile(path);
  return { kubeConfig, source: path, namespace: webhookNamespace(kubeConfig, env) };
}

function webhookNamespace(kubeConfig: KubeConfig, env: NodeJS.ProcessEnv): string {
  return env.POD_NAMESPACE || kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace || 'wutong-backup';
}
