import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiRequest, kubeconfig, kubectl120Binary, waitForServiceAccountToken } from '../cluster/cluster.js';
import { clusterInfo } from './kube.js';
import { findObject, renderForTestbed, run, type KubeObject, type ManifestTarget } from './kustomize.js';
import { startServiceStandIn, type ServiceStandIn } from './service-stand-in.js';
import { roleGroup } from './role-group.js';
import { startWebhookProcess, type WebhookProcess } from './webhook-process.js';
import { acquireFileLock } from './file-lock.js';

export type ShippedRole = 'webhook' | 'api' | 'controller';
export const SHIPPED_ROLES: readonly ShippedRole[] = ['webhook', 'api', 'controller'];

/** Names the shipped manifests use (manifests/base). */
export const SHIPPED = {
  namespace: 'wutong-backup',
  webhookConfiguration: 'wutong-backup',
  tlsSecret: 'wutong-backup-tls',
  policyConfigMap: 'wutong-backup-policy',
  /** Each role's Deployment, ServiceAccount and container (README "Roles"). */
  deployment: (role: ShippedRole): string => `wutong-backup-${role}`,
  serviceAccount: (role: ShippedRole): string => `wutong-backup-${role}`,
} as const;

/** The user name the API server knows a role's ServiceAccount by (audit log, SubjectAccessReviews). */
export const shippedUser = (role: ShippedRole): string => `system:serviceaccount:${SHIPPED.namespace}:${SHIPPED.serviceAccount(role)}`;

export interface ShippedInstall {
  target: ManifestTarget;
  /** The objects kustomize rendered and kubectl applied. */
  objects: KubeObject[];
  /** The kubeconfig each role runs with: its own ServiceAccount's token, never an admin identity. */
  kubeconfigs: Record<ShippedRole, string>;
  /** The webhook configuration's clientConfig points here; it spreads connections over the running webhook processes. */
  service: ServiceStandIn;
  /**
   * Runs `count` replicas of the built binary, each with its Deployment's
   * environment plus `overrides`, under its role's ServiceAccount. With
   * `overrides.ROLE` one role, each replica is one process of that role (its
   * Deployment, its ServiceAccount); without, each replica is the whole
   * installation's worth of one pod per role (a webhook, an api and a
   * controller process), seen through one handle (roleGroup).
   */
  startReplicas(count: number, overrides?: Record<string, string>, options?: { kubeconfigs?: Partial<Record<ShippedRole, string>> }): Promise<WebhookProcess[]>;
  /** The CA the replicas keep in Secret wutong-backup-tls. */
  storedCa(): Promise<X509Certificate>;
  /** Stops the replicas, deletes everything that was applied (waiting for the namespace to go), releases the installation. */
  uninstall(): Promise<void>;
}

/**
 * The shipped manifests name one namespace, one Secret and one cluster-wide
 * webhook configuration, so two test files cannot install them at once. Each
 * file holds this lock from install to uninstall (whatever jest's worker
 * count), and starts from an empty cluster state: no file depends on
 * another's leftovers.
 */
const acquireInstallLock = (): Promise<() => void> => acquireFileLock('shipped-install', 'the shipped installation');

function kubectl(args: string[], input?: string, timeoutMs?: number): Promise<{ stdout: string; stderr: string }> {
  return run(kubectl120Binary(), ['--kubeconfig', clusterInfo().kubeconfigPath, ...args], input, timeoutMs);
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath?: string } };
}
interface DeploymentShape {
  metadata: { namespace?: string };
  spec: { template: { spec: { containers: { name: string; image?: string; env?: EnvVar[] }[] } } };
}
let podCount = 0;

/** A role's container environment as the kubelet would set it (values and the namespace fieldRef). */
export function deploymentEnv(objects: readonly KubeObject[], role: ShippedRole): Record<string, string> {
  const deployment = findObject(objects, 'Deployment', SHIPPED.deployment(role)) as unknown as DeploymentShape;
  const container = deployment.spec.template.spec.containers.find((c) => c.name === role);
  if (!container) throw new Error(`Deployment ${SHIPPED.deployment(role)} has no container "${role}"`);
  return Object.fromEntries([
    // A pod reads its own image for its holder pods (src/kube/holder-image.ts); a replica process has no pod to read, so it is told the image its pod would run.
    ['HOLDER_IMAGE', container.image ?? ''],
    ...(container.env ?? []).map((e): [string, string] => {
      if (e.value !== undefined) return [e.name, e.value];
      if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') return [e.name, deployment.metadata.namespace ?? 'default'];
      // No pod runs here: each replica process stands for one, under this name.
      if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') return [e.name, `${SHIPPED.deployment(role)}-e2e-${process.pid}-${++podCount}`];
      throw new Error(`env ${e.name}: the test cannot resolve ${JSON.stringify(e.valueFrom)}`);
    }),
  ]);
}

/**
 * Installs manifests/<target> as a platform team would (`kubectl apply` of
 * what kustomize renders, here with kubectl 1.20), then changes exactly one
 * thing: the webhook configuration's clientConfig becomes a URL of a loopback
 * stand-in for the Service, because no pod of the Deployments runs here. Each
 * role's processes run as that role's installed ServiceAccount.
 */
export async function installShipped(target: ManifestTarget = 'base'): Promise<ShippedInstall> {
  const release = await acquireInstallLock();
  const info = clusterInfo();
  const workDir = mkdtempSync(join(tmpdir(), 'wb-e2e-install-'));
  let service: ServiceStandIn | undefined;
  const replicas: WebhookProcess[] = [];
  let rendered: KubeObject[] = [];
  let yaml = '';

  const uninstall = async (): Promise<void> => {
    try {
      await Promise.all(replicas.map((r) => r.stop()));
      await service?.close();
      if (yaml) await kubectl(['delete', '--ignore-not-found', '--wait=true', '--timeout=180s', '-f', '-'], yaml, 200_000);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
      release();
    }
  };

  try {
    const out = await renderForTestbed(target);
    rendered = out.objects;
    yaml = out.yaml;
    await kubectl(['apply', '--validate=true', '-f', '-'], yaml);
    service = await startServiceStandIn();
    const url = `${service.url}/mutate`;
    const patch = await apiRequest(
      info,
      'PATCH',
      `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${SHIPPED.webhookConfiguration}`,
      // Every entry (pods, and the upgrade hold's workloads) is served by the same process.
      rendered
        .filter((o) => o.kind === 'MutatingWebhookConfiguration')
        .flatMap((o) => ((o as unknown as { webhooks?: unknown[] }).webhooks ?? []).map((_, i) => ({ op: 'replace', path: `/webhooks/${i}/clientConfig`, value: { url } }))),
      'application/json-patch+json',
    );
    if (patch.status !== 200) throw new Error(`pointing the webhook configuration at the test process failed: ${patch.status} ${patch.body}`);
    const kubeconfigs = {} as Record<ShippedRole, string>;
    for (const role of SHIPPED_ROLES) {
      const token = await waitForServiceAccountToken(info, SHIPPED.namespace, SHIPPED.serviceAccount(role));
      kubeconfigs[role] = join(workDir, `${role}.kubeconfig`);
      writeFileSync(kubeconfigs[role], kubeconfig(info.server, info.caPem, token, shippedUser(role), SHIPPED.namespace), { mode: 0o600 });
    }
    const stand = service;
    const join_ = (p: WebhookProcess): void => {
      replicas.push(p);
      // The webhook's Service selects the pods that answer admission reviews (the webhook role), as an endpoint joins once its pod is ready.
      stand.setBackends(replicas.filter((r) => r.admission).map((r) => r.port));
    };
    const startRole = (role: ShippedRole, overrides: Record<string, string>, configs: Partial<Record<ShippedRole, string>>): Promise<WebhookProcess> =>
      startWebhookProcess({ ...deploymentEnv(rendered, role), KUBECONFIG: configs[role] ?? kubeconfigs[role], ...overrides, ROLE: role });

    return {
      target,
      objects: rendered,
      kubeconfigs,
      service: stand,
      async startReplicas(count, overrides = {}, options = {}) {
        const only = overrides.ROLE as ShippedRole | undefined;
        if (only !== undefined && !SHIPPED_ROLES.includes(only)) throw new Error(`startReplicas: ROLE ${only} is not one of the shipped Deployments' roles`);
        const configs = options.kubeconfigs ?? {};
        const started = await Promise.allSettled(
          Array.from({ length: count }, async () => {
            const replica = only ? await startRole(only, overrides, configs) : await roleGroup(SHIPPED_ROLES.map((role) => () => startRole(role, overrides, configs)));
            join_(replica);
            return replica;
          }),
        );
        const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
        const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failed) throw failed.reason;
        return ok;
      },
      async storedCa() {
        const res = await apiRequest(info, 'GET', `/api/v1/namespaces/${SHIPPED.namespace}/secrets/${SHIPPED.tlsSecret}`);
        const data = (res.json as { data?: Record<string, string> } | undefined)?.data?.['ca.crt'];
        if (res.status !== 200 || !data) throw new Error(`Secret ${SHIPPED.tlsSecret}: ${res.status} ${res.body.slice(0, 200)}`);
        return new X509Certificate(Buffer.from(data, 'base64'));
      },
      uninstall,
    };
  } catch (err) {
    await uninstall().catch(() => undefined);
    throw err;
  }
}

/** Edits the installed policy ConfigMap, as an operator would. */
export async function setShippedPolicy(text: string): Promise<void> {
  const { namespace, policyConfigMap: name } = SHIPPED;
  const res = await apiRequest(clusterInfo(), 'PUT', `/api/v1/namespaces/${namespace}/configmaps/${name}`, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace },
    data: { 'policy.yaml': text },
  });
  if (res.status !== 200) throw new Error(`editing ConfigMap ${namespace}/${name} failed: ${res.status} ${res.body.slice(0, 200)}`);
}
