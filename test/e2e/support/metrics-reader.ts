// Prometheus as the monitoring overlay sets it up: a ServiceAccount bound to
// the overlay's own ClusterRole wutong-backup-metrics-reader (get on the
// non-resource URL /metrics), whose token the scraper sends. The shipped
// replicas check it with a TokenReview and a SubjectAccessReview, as they do
// in a cluster.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { apiRequest, waitForServiceAccountToken } from '../cluster/cluster.js';
import { clusterInfo } from './kube.js';

const OVERLAY = fileURLToPath(new URL('../../../manifests/overlays/monitoring/metrics-reader.yaml', import.meta.url));
/** Where the scraper's ServiceAccount lives here (the overlay's binding names kube-prometheus's, in namespace monitoring). */
const SCRAPER_NAMESPACE = 'default';
const SCRAPER = 'e2e-prometheus';

let token: Promise<string> | undefined;

async function created(path: string, body: unknown): Promise<void> {
  const res = await apiRequest(clusterInfo(), 'POST', path, body);
  if (res.status !== 201 && res.status !== 409) throw new Error(`creating ${path}: ${res.status} ${res.body.slice(0, 200)}`);
}

/**
 * The scraper's token, granted /metrics by the overlay's ClusterRole (made
 * once per cluster; every test file shares it, so nothing is deleted).
 */
export function metricsReaderToken(): Promise<string> {
  token ??= (async () => {
    const docs = parseAllDocuments(readFileSync(OVERLAY, 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string }; subjects?: unknown[] });
    const role = docs.find((d) => d.kind === 'ClusterRole');
    const binding = docs.find((d) => d.kind === 'ClusterRoleBinding');
    if (!role || !binding) throw new Error(`${OVERLAY} has no ClusterRole and ClusterRoleBinding`);
    await created('/apis/rbac.authorization.k8s.io/v1/clusterroles', role);
    await created(`/api/v1/namespaces/${SCRAPER_NAMESPACE}/serviceaccounts`, { metadata: { name: SCRAPER } });
    // The overlay's binding, its subject pointed at this cluster's scraper (what the overlay's comment tells an operator to edit).
    await created('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      ...binding,
      metadata: { ...binding.metadata, name: `${binding.metadata.name}-e2e` },
      subjects: [{ kind: 'ServiceAccount', name: SCRAPER, namespace: SCRAPER_NAMESPACE }],
    });
    return waitForServiceAccountToken(clusterInfo(), SCRAPER_NAMESPACE, SCRAPER);
  })();
  return token;
}

/** GET /metrics on a replica's TLS port as the scraper does (its bearer token); any answer but 200 is an error naming it. */
export async function scrapeMetrics(baseUrl: string, caPem: string, token?: string): Promise<string> {
  const answer = await getMetrics(baseUrl, caPem, token ?? (await metricsReaderToken()));
  if (answer.status !== 200) throw new Error(`GET ${baseUrl}/metrics: ${answer.status} ${answer.body.slice(0, 200)}`);
  return answer.body;
}

/** GET /metrics with `token` (none: no Authorization header), whatever it answers. */
export function getMetrics(baseUrl: string, caPem: string, token: string | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(`${baseUrl}/metrics`, { ca: caPem, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

/**
 * What one replica of the installation reports: each of its processes'
 * /metrics (one per role, see role-group.ts), merged into one exposition as
 * `max without (pod)` would in Prometheus, so the scenarios read a role's
 * counter without knowing which role keeps it: every series once, with the
 * value of the first process where it is not zero (a counter only one role
 * moves is 0 in the others; the gauges both api and controller keep agree).
 */
export async function scrapeReplica(replica: { metricsUrls: readonly string[] }, caPem: string, token?: string): Promise<string> {
  const texts: string[] = [];
  for (const url of replica.metricsUrls) texts.push(await scrapeMetrics(url, caPem, token));
  return mergeExpositions(texts);
}

function mergeExpositions(texts: readonly string[]): string {
  const lines = new Map<string, string>();
  for (const text of texts) {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      // "# HELP name …" and "# TYPE name …" once each; a sample by its series (everything before the value).
      const key = line.startsWith('#') ? line.split(' ').slice(0, 3).join(' ') : line.slice(0, line.lastIndexOf(' '));
      const seen = lines.get(key);
      const zero = (l: string): boolean => Number(l.slice(l.lastIndexOf(' ') + 1)) === 0;
      if (seen === undefined || (!line.startsWith('#') && zero(seen) && !zero(line))) lines.set(key, line);
    }
  }
  return `${[...lines.values()].join('\n')}\n`;
}
