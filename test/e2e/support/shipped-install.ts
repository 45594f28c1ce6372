import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiRequest, kubeconfig, kubectl120Binary, waitForServiceAccountToken } from '../cluster/cluster.js';
import { clusterInfo } from './kube.js';
import { findObject, renderForTestbed, run, type KubeObject, type ManifestTarget } from './kustomize.js';
import { startServiceStandIn, type ServiceStandIn } from './service-stand-in.js';
import { startWebhookProcess, type WebhookProcess } from './webhook-process.js';
import { acquireFileLock } from './file-lock.js';

/** Names the shipped manifests use (manifests/base). */
export const SHIPPED = {
  namespace: 'wutong-backup',
  serviceAccount: 'wutong-backup',
  webhookConfiguration: 'wutong-backup',
  deployment: 'wutong-backup',
  tlsSecret: 'wutong-backup-tls',
  policyConfigMap: 'wutong-backup-policy',
} as const;

export interface ShippedInstall {
  target: ManifestTarget;
  /** The objects kustomize rendered and kubectl applied. */
  objects: KubeObject[];
  /** The kubeconfig the webhook runs with: the ServiceAccount's own token, never an admin identity. */
  serviceAccountKubeconfig: string;
  /** The webhook configuration's clientConfig points here; it spreads connections over the running replicas. */
  service: ServiceStandIn;
  /** Runs `count` replicas of the built binary with the Deployment's environment plus `overrides`. */
  startReplicas(count: number, overrides?: Record<string, string>): Promise<WebhookProcess[]>;
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

/** The webhook container's environment as the kubelet would set it (values and the namespace fieldRef). */
export function deploymentEnv(objects: readonly KubeObject[]): Record<string, string> {
  const deployment = findObject(objects, 'Deployment', SHIPPED.deployment) as unknown as DeploymentShape;
  const container = deployment.spec.template.spec.containers.find((c) => c.name === 'webhook');
  if (!container) throw new Error('the Deployment has no container "webhook"');
  return Object.fromEntries([
    // A pod reads its own image for its holder pods (src/kube/holder-image.ts); a replica process has no pod to read, so it is told the image its pod would run.
    ['HOLDER_IMAGE', container.image ?? ''],
    ...(container.env ?? []).map((e): [string, string] => {
      if (e.value !== undefined) return [e.name, e.value];
      if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') return [e.name, deployment.metadata.namespace ?? 'default'];
      // No pod runs here: each replica process stands for one, under this name.
      if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') return [e.name, `${SHIPPED.deployment}-e2e-${process.pid}`];
      throw new Error(`env ${e.name}: the test cannot resolve ${JSON.stringify(e.valueFrom)}`);
    }),
  ]);
}

/**
 * Installs manifests/<target> as a platform team would (`kubectl apply` of
 * what kustomize renders, here with kubectl 1.20), then changes exactly one
 * thing: the webhook configuration's clientConfig becomes a URL of a loopback
 * stand-in for the Service, because no pod of the Deployment runs here. The
 * webhook processes run as the installed ServiceAccount.
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
    const token = await waitForServiceAccountToken(info, SHIPPED.namespace, SHIPPED.serviceAccount);
    const serviceAccountKubeconfig = join(workDir, 'serviceaccount.kubeconfig');
    writeFileSync(
      serviceAccountKubeconfig,
      kubeconfig(info.server, info.caPem, token, `system:serviceaccount:${SHIPPED.namespace}:${SHIPPED.serviceAccount}`, SHIPPED.namespace),
      { mode: 0o600 },
    );
    const env = deploymentEnv(rendered);
    const stand = service;

    return {
      target,
      objects: rendered,
      serviceAccountKubeconfig,
      service: stand,
      async startReplicas(count, overrides = {}) {
        // Each replica joins the Service as soon as it serves, as an endpoint does once its pod is ready.
        const started = await Promise.allSettled(
          Array.from({ length: count }, async () => {
            const replica = await startWebhookProcess({ ...env, KUBECONFIG: serviceAccountKubeconfig, ...overrides });
            replicas.push(replica);
            // The webhook's Service selects the pods that answer admission reviews (the webhook role).
            stand.setBackends(replicas.filter((r) => r.admission).map((r) => r.port));
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
