import { apiRequest, installCrds, provision, startCluster, veleroCrdDir, type TestCluster } from './cluster/cluster.js';

declare global {
  // Shared between globalSetup and globalTeardown, which run in the same process.
  var e2eCluster: TestCluster | undefined;
}

/**
 * Provisions (builds once, then cached) and starts a real kube-apiserver with
 * etcd for the e2e project, installs Velero's CRDs, and hands the connection
 * to the test workers through the environment.
 */
export default async function globalSetup(): Promise<void> {
  try {
    await provision();
  } catch (err) {
    throw new Error(
      `end-to-end tests need a real kube-apiserver and could not provision one: ${(err as Error).message}\n` +
        'Run as root on Debian with apt access, or skip the end-to-end tests explicitly with: E2E=0 npm test',
    );
  }
  const cluster = await startCluster();
  globalThis.e2eCluster = cluster;
  await installCrds(cluster, veleroCrdDir('1.11.1'));
  // Velero's own namespace, as `velero install` leaves it: the shipped RBAC
  // has a Role there, so it must exist before the manifests are applied.
  const created = await apiRequest(cluster, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'velero' } });
  if (created.status !== 201 && created.status !== 409) throw new Error(`creating namespace velero failed: ${created.status} ${created.body.slice(0, 200)}`);
  process.env.E2E_CLUSTER = JSON.stringify({
    server: cluster.server,
    token: cluster.token,
    caPem: cluster.caPem,
    kubeconfigPath: cluster.kubeconfigPath,
    auditLogPath: cluster.auditLogPath,
  });
}
