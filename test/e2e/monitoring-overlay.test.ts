import { jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { findObject, KUSTOMIZERS, MANIFESTS_DIR, objectKey, render, type KubeObject, type Kustomizer } from './support/kustomize.js';
import { SHIPPED, SHIPPED_ROLES } from './support/shipped-install.js';

jest.setTimeout(120_000);

const kustomizers = Object.keys(KUSTOMIZERS) as Kustomizer[];

/** Lists of named items compare by name: the two kustomize versions merge patches in different orders. */
function normalised(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(normalised);
    const named = items.every((i) => typeof i === 'object' && i !== null && typeof (i as { name?: unknown }).name === 'string');
    return named ? [...items].sort((a, b) => String((a as { name: string }).name).localeCompare(String((b as { name: string }).name))) : items;
  }
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalised(v)]));
  return value;
}

test('overlays/monitoring renders with kubectl 1.20’s kustomize and with kustomize v5, to the same objects', async () => {
  const [old, current] = await Promise.all(kustomizers.map((k) => render('overlays/monitoring', k)));
  expect(old!.stderr.trim()).toBe('');
  const byKey = (objects: KubeObject[]): Map<string, unknown> => new Map(objects.map((o) => [objectKey(o), normalised(o)]));
  const a = byKey(old!.objects);
  const b = byKey(current!.objects);
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  expect([...a.keys()].filter((k) => !isDeepStrictEqual(a.get(k), b.get(k)))).toEqual([]);
});

test('overlays/monitoring is the base plus a ServiceMonitor that selects only the metrics Service (every pod of every role, once), the metrics reader RBAC, the rule, and the dashboard ConfigMap', async () => {
  const [base, monitoring] = await Promise.all([render('base'), render('overlays/monitoring')]);
  const added = monitoring.objects.map(objectKey).filter((k) => !base.objects.map(objectKey).includes(k));
  expect(added.sort()).toEqual([
    'ClusterRole//wutong-backup-metrics-reader',
    'ClusterRoleBinding//wutong-backup-metrics-reader',
    'ConfigMap/wutong-backup/wutong-backup-grafana-dashboard',
    'PrometheusRule/wutong-backup/wutong-backup',
    'ServiceMonitor/wutong-backup/wutong-backup',
  ]);

  const monitor = findObject(monitoring.objects, 'ServiceMonitor', 'wutong-backup') as KubeObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] } };
  const services = monitoring.objects.filter((o) => o.kind === 'Service');
  const selected = services.filter((s) => Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v));
  expect(selected.map((s) => s.metadata.name)).toEqual(['wutong-backup-metrics']);
  // The port it scrapes is the one every role's Deployment serves /metrics on, and the Service selects the pods of all three.
  const service = selected[0] as KubeObject & { spec: { ports: { name: string; targetPort: string }[]; selector: Record<string, string> } };
  expect(service.spec.ports.map((p) => p.name)).toContain(monitor.spec.endpoints[0]?.port);
  const port = service.spec.ports.find((p) => p.name === monitor.spec.endpoints[0]?.port);
  for (const role of SHIPPED_ROLES) {
    const deployment = findObject(monitoring.objects, 'Deployment', SHIPPED.deployment(role)) as KubeObject & {
      spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: { ports: { name: string }[] }[] } } };
    };
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect(deployment.spec.template.spec.containers[0]?.ports.map((p) => p.name)).toContain(port?.targetPort);
  }

  const dashboard = findObject(monitoring.objects, 'ConfigMap', 'wutong-backup-grafana-dashboard') as KubeObject & { data: Record<string, string> };
  expect(dashboard.metadata.labels).toEqual({ grafana_dashboard: '1' });
  expect(dashboard.data['grafana-dashboard.json']).toBe(readFileSync(join(MANIFESTS_DIR, 'overlays', 'monitoring', 'grafana-dashboard.json'), 'utf8'));
  // The base's own generated ConfigMap keeps its labels (none): the overlay's generatorOptions are its own.
  expect(findObject(monitoring.objects, 'ConfigMap', 'wutong-backup-policy').metadata.labels).toBeUndefined();
});
