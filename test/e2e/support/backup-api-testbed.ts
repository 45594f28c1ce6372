import { readFileSync } from 'node:fs';
import { scrapeReplica } from './metrics-reader.js';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, type CoreV1Api } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { apiRequest, waitForServiceAccountToken } from '../cluster/cluster.js';
import { backupApiClient, type ApiAnswer, type CallOptions } from './backup-api-client.js';
import { adminKubeConfig, clients, clusterInfo, createNamespace, deleteNamespace, E2E_TENANT, tenantEnvOf } from './kube.js';
import { startKubeletStandIn, type KubeletStandIn } from './kubelet-stand-in.js';
import { KUBERNETES_120, type ManifestTarget } from './kustomize.js';
import { installShipped, type ShippedInstall } from './shipped-install.js';
import { startVeleroStandIn, type VeleroStandIn } from './velero-stand-in.js';
import { eventually } from './wait.js';
import type { WebhookProcess } from './webhook-process.js';
import { MYSQL_WORKLOAD, releaseDataGuards, startWutongComponent, type WutongComponent, type WutongWorkload } from './wutong-component.js';
import { startDataNode, type DataNode } from './data-node.js';

export const VELERO_NAMESPACE = 'velero';

/** Every kind of object the backup API may create in Velero's namespace. */
export const VELERO_CREATED_RESOURCES = ['backups', 'restores', 'schedules', 'deletebackuprequests', 'downloadrequests'] as const;

export interface VeleroObjectJson {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
  status?: { phase?: string };
}

/**
 * The backup API as the console meets it: the shipped installation (install
 * lock held until stop), the Velero stand-in with an Available storage
 * location, the kubelet stand-in, a running Wutong component (a StatefulSet
 * with a PVC), the console's ServiceAccount bound to the example ClusterRole
 * in the component's namespace, and `replicaCount` replicas whose caches have
 * synced.
 */
export interface BackupApiTestbed {
  install: ShippedInstall;
  replicas: WebhookProcess[];
  velero: VeleroStandIn;
  kubelet: KubeletStandIn;
  /** The data-bearing node (options.data): the component's pods run there for real. */
  node?: DataNode;
  /** What the component runs (options.data's workload, or MySQL's image on a pretend node). */
  workload: WutongWorkload;
  core: CoreV1Api;
  apps: AppsV1Api;
  component: WutongComponent;
  consoleNamespace: string;
  consoleToken: string;
  caPem: string;
  /** As the console (its token unless options.token says otherwise), on replica `replica` or round robin. */
  call: (method: string, path: string, options?: CallOptions, replica?: number) => Promise<ApiAnswer>;
  veleroObjects: (resource: string, labelSelector?: string) => Promise<VeleroObjectJson[]>;
  /** Stops the stand-ins and replicas, deletes what the testbed made, uninstalls (releasing the lock). */
  stop: () => Promise<void>;
}

export interface TestbedOptions {
  /** Namespace prefix, and (with the pid) the component's identity: test files never share a component. */
  suite: string;
  serviceId: string;
  alias: string;
  replicaCount?: number;
  /** One replica per entry, each with that environment (ROLE per process, say); wins over replicaCount and replicaEnv. */
  replicaEnvs?: ReadonlyArray<Record<string, string>>;
  /** The tenant env's name (default: the namespace's name). */
  env?: string;
  target?: ManifestTarget;
  replicaEnv?: Record<string, string>;
  /** Runs once the installation, stand-ins and component are up, before the API replicas start. */
  beforeReplicas?: (install: ShippedInstall) => Promise<void>;
  /**
   * Real data: the component runs `workload` on a data-bearing node (its
   * claim on the node's provisioner, reclaim policy Delete), and the Velero
   * stand-in copies its volumes with restic and runs its hooks (data mode).
   */
  data?: { workload: Omit<WutongWorkload, 'storageClassName'> };
  /** The Velero stand-in's schedule clock speed (default 60: a minute a second); 1 runs Schedules on the real clock the controller reads. */
  veleroTimeScale?: number;
}

/** The example ClusterRole the README tells platform teams to bind for the console. */
export function consoleClusterRole(): Record<string, unknown> {
  const file = fileURLToPath(new URL('../../../manifests/examples/console-access.yaml', import.meta.url));
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
  const role = docs.find((d) => d['kind'] === 'ClusterRole');
  if (!role) throw new Error('manifests/examples/console-access.yaml has no ClusterRole');
  return role;
}

export async function listVeleroObjects(resource: string, labelSelector = ''): Promise<VeleroObjectJson[]> {
  const res = await apiRequest(clusterInfo(), 'GET', `/apis/velero.io/v1/namespaces/${VELERO_NAMESPACE}/${resource}${labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : ''}`);
  if (res.status !== 200) throw new Error(`listing ${resource}: ${res.status} ${res.body.slice(0, 200)}`);
  return (res.json as { items: VeleroObjectJson[] }).items;
}

export async function startBackupApiTestbed(options: TestbedOptions): Promise<BackupApiTestbed> {
  const info = clusterInfo();
  const { core } = clients();
  const apps = adminKubeConfig().makeApiClient(AppsV1Api);
  const role = consoleClusterRole();
  const roleName = (role.metadata as { name: string }).name;
  const install = await installShipped(options.target ?? KUBERNETES_120);
  let velero: VeleroStandIn | undefined;
  let kubelet: KubeletStandIn | undefined;
  let node: DataNode | undefined;
  let namespace: string | undefined;
  let consoleNamespace: string | undefined;
  const apiClients: ReturnType<typeof backupApiClient>[] = [];
  let started: WebhookProcess[] = [];

  const stop = async (): Promise<void> => {
    for (const c of apiClients) c.close();
    // The system first: its controller would otherwise act on the teardown below (Events in a terminating namespace are refused with 403).
    await Promise.all(started.map((r) => r.stop()));
    await velero?.stop();
    if (node) await node.stop({ keepRoot: process.env.KEEP_DATA_NODE === '1' });
    else await kubelet?.stop();
    // With no controller left to release them, guarded PVCs would hold the namespace in Terminating for ever: the uninstall procedure.
    if (namespace) await releaseDataGuards(namespace);
    // Before the uninstall releases the lock: the next test file starts from an empty cluster state.
    await apiRequest(info, 'DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterroles/${roleName}`);
    for (const resource of [...VELERO_CREATED_RESOURCES, 'podvolumebackups', 'podvolumerestores']) {
      await apiRequest(info, 'DELETE', `/apis/velero.io/v1/namespaces/${VELERO_NAMESPACE}/${resource}`);
    }
    if (namespace) await deleteNamespace(core, namespace);
    if (consoleNamespace) await deleteNamespace(core, consoleNamespace);
    await install.uninstall();
  };

  try {
    const nodeName = `node-${options.suite}-${process.pid}`;
    if (options.data) {
      node = await startDataNode(nodeName);
      kubelet = node.kubelet;
    }
    velero = await startVeleroStandIn(info, { namespace: VELERO_NAMESPACE, timeScale: options.veleroTimeScale ?? 60, stepMs: 100, ...(node ? { nodes: [node.runtime] } : {}) });
    await velero.setStorageLocation('default', 'Available');
    namespace = await createNamespace(core, options.suite, options.env ? { tenant: { name: E2E_TENANT, env: options.env } } : {});
    consoleNamespace = await createNamespace(core, `${options.suite}-console`, { tenant: false });
    kubelet ??= await startKubeletStandIn(nodeName);
    const workload: WutongWorkload = options.data && node ? { ...options.data.workload, storageClassName: await node.storageClass('Delete') } : MYSQL_WORKLOAD;

    const created = await apiRequest(info, 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', role);
    if (created.status >= 300 && created.status !== 409) throw new Error(`creating ClusterRole ${roleName}: ${created.status} ${created.body.slice(0, 200)}`);
    const sa = await apiRequest(info, 'POST', `/api/v1/namespaces/${consoleNamespace}/serviceaccounts`, { metadata: { name: 'wutong-console' } });
    if (sa.status !== 201) throw new Error(`creating the console's ServiceAccount: ${sa.status}`);
    const binding = await apiRequest(info, 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
      metadata: { name: 'wutong-backup-console' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
      subjects: [{ kind: 'ServiceAccount', name: 'wutong-console', namespace: consoleNamespace }],
    });
    if (binding.status !== 201) throw new Error(`binding the console: ${binding.status}`);
    const consoleToken = await waitForServiceAccountToken(info, consoleNamespace, 'wutong-console');

    const tenant = E2E_TENANT;
    const env = options.env ?? tenantEnvOf(namespace).env;
    const component: WutongComponent = {
      serviceId: options.serviceId,
      alias: options.alias,
      tenant,
      env,
      namespace,
      path: `/v2/tenants/${tenant}/envs/${env}/services/${options.alias}`,
    };
    kubelet.runPods(namespace, `service_id=${component.serviceId}`);
    await startWutongComponent(apps, core, component, workload);

    await options.beforeReplicas?.(install);
    const replicas: WebhookProcess[] = [];
    // Together: a webhook or api process serves only once the controller has written the TLS Secret.
    if (options.replicaEnvs) replicas.push(...(await Promise.all(options.replicaEnvs.map((env) => install.startReplicas(1, env)))).flat());
    else replicas.push(...(await install.startReplicas(options.replicaCount ?? 2, options.replicaEnv)));
    started = replicas;
    const caPem = (await install.storedCa()).toString();
    // The console's calls go to the processes that serve the API.
    apiClients.push(...replicas.filter((r) => r.apiUrl !== '').map((r) => backupApiClient(r.apiUrl, caPem)));
    let turn = 0;
    const call = (method: string, path: string, callOptions: CallOptions = {}, replica?: number): Promise<ApiAnswer> =>
      apiClients[replica ?? turn++ % apiClients.length]!.call(method, path, { token: consoleToken, ...callOptions });
    // Every replica's caches have listed Velero's objects.
    for (let i = 0; i < apiClients.length; i++) {
      await eventually(async () => ((await call('GET', `${component.path}/backup/records`, {}, i)).status === 200 ? true : undefined), `replica ${i} ready`, 60_000);
    }
    return { install, replicas, velero, kubelet, ...(node ? { node } : {}), workload, core, apps, component, consoleNamespace, consoleToken, caPem, call, veleroObjects: listVeleroObjects, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** The first replica's Prometheus exposition (GET /metrics of each of its processes over their TLS port, with the scraper's token as the monitoring overlay grants it). */
export function replicaMetrics(bed: Pick<BackupApiTestbed, 'replicas' | 'caPem'>): Promise<string> {
  return scrapeReplica(bed.replicas[0]!, bed.caPem);
}
