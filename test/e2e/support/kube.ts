import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { AdmissionregistrationV1Api, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { waitForServiceAccountToken } from '../cluster/cluster.js';

export interface ClusterInfo {
  server: string;
  token: string;
  caPem: string;
  kubeconfigPath: string;
  /** The API server's audit log: requests by the shipped namespace's ServiceAccounts. */
  auditLogPath: string;
}

export function clusterInfo(): ClusterInfo {
  const raw = process.env.E2E_CLUSTER;
  if (!raw) throw new Error('E2E_CLUSTER is not set: the e2e globalSetup did not run');
  return JSON.parse(raw) as ClusterInfo;
}

/** A client-node KubeConfig for the test cluster's admin, so tests act as a real client would. */
export function adminKubeConfig(): KubeConfig {
  const info = clusterInfo();
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfigPath);
  return kc;
}

export function clients(kc = adminKubeConfig()): { core: CoreV1Api; admission: AdmissionregistrationV1Api } {
  return { core: kc.makeApiClient(CoreV1Api), admission: kc.makeApiClient(AdmissionregistrationV1Api) };
}

/** The tenant every e2e tenant env belongs to; each namespace is its own env (named like the namespace), so no two test files share one. */
export const E2E_TENANT = 'acme';

/** The labels Wutong puts on a tenant env's namespace (api/handler/service.go CreateTenantEnv), as the shipped TENANT_* settings read them. */
export function tenantNamespaceLabels(tenant: string, env: string): Record<string, string> {
  return { 'app.kubernetes.io/managed-by': 'wutong', tenant_name: tenant, tenant_env_name: env, tenant_id: `${tenant}-id`, tenant_env_id: `${env}-id`.slice(0, 63) };
}

export interface NamespaceOptions {
  /** A Wutong tenant env (the default: tenant E2E_TENANT, env = the namespace's name), or false for a plain namespace no tenant owns. */
  tenant?: { name: string; env?: string } | false;
}

/**
 * A fresh namespace per test file, labelled so only that file's webhooks see
 * it, and (by default) as a Wutong tenant env: the system counts components
 * only in tenant envs. Resolves once the controller-manager has given it a
 * default ServiceAccount with a token: before that the ServiceAccount
 * admission plugin refuses pods.
 */
export async function createNamespace(core: CoreV1Api, suite: string, options: NamespaceOptions = {}): Promise<string> {
  const name = `e2e-${suite}-${process.pid}-${randomBytes(3).toString('hex')}`;
  if (name.length > 63) throw new Error(`namespace name ${name} is over 63 characters: shorten the suite name`);
  const tenant = options.tenant === undefined ? { name: E2E_TENANT } : options.tenant;
  const labels = { 'e2e-suite': name, ...(tenant ? tenantNamespaceLabels(tenant.name, tenant.env ?? name) : {}) };
  await core.createNamespace({ body: { metadata: { name, labels } } });
  await waitForServiceAccountToken(clusterInfo(), name);
  return name;
}

/** The tenant env a namespace made by createNamespace is (by default: E2E_TENANT, env = its name). */
export function tenantEnvOf(namespace: string, tenant = E2E_TENANT): { tenant: string; env: string } {
  return { tenant, env: namespace };
}

export async function deleteNamespace(core: CoreV1Api, name: string): Promise<void> {
  await core.deleteNamespace({ name }).catch(() => undefined);
}

/**
 * Creates a pod and returns it as the API server stored it, with the
 * warnings the API server sent back. client-node's typed API drops response
 * headers, so this one call is a plain HTTPS request with the same admin
 * credentials.
 */
export async function createPodCapturingWarnings(namespace: string, pod: V1Pod): Promise<{ pod: V1Pod; warnings: string[] }> {
  const info = clusterInfo();
  const res = await new Promise<{ status: number; body: string; warning: string[] }>((resolve, reject) => {
    const req = request(
      `${info.server}/api/v1/namespaces/${namespace}/pods`,
      { method: 'POST', ca: info.caPem, headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' } },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          const raw = response.headers.warning;
          resolve({ status: response.statusCode ?? 0, body, warning: raw === undefined ? [] : Array.isArray(raw) ? raw : [raw] });
        });
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', ...pod }));
  });
  if (res.status !== 201) throw new Error(`create pod failed with ${res.status}: ${res.body}`);
  return { pod: JSON.parse(res.body) as V1Pod, warnings: res.warning.flatMap(splitWarnings) };
}

/** Warning headers are `299 - "text"`; several may be folded into one header. */
function splitWarnings(header: string): string[] {
  return [...header.matchAll(/299 - "((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? '').replace(/\\(.)/g, '$1'));
}
