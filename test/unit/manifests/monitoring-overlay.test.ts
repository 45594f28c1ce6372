import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse } from 'yaml';
import { PACKAGE_ROOT } from '../../../src/package-root.js';
import '../../../src/observability/component-metrics.js';
import { registry } from '../../../src/observability/metrics.js';

// The shipped alerts and dashboard may only name metrics this code exports,
// and every expression must be PromQL Prometheus parses (the Prometheus
// project's own lezer grammar, what its UI parses with; promtool is not
// installed here).
const OVERLAY = join(PACKAGE_ROOT, 'manifests', 'overlays', 'monitoring');

interface Rule {
  alert?: string;
  expr: string;
  labels?: Record<string, string>;
}
const prometheusRule = parse(readFileSync(join(OVERLAY, 'prometheusrule.yaml'), 'utf8')) as { kind: string; spec: { groups: { name: string; rules: Rule[] }[] } };
const rules = prometheusRule.spec.groups.flatMap((g) => g.rules);

interface Panel {
  title: string;
  targets?: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync(join(OVERLAY, 'grafana-dashboard.json'), 'utf8')) as { panels: Panel[] };

const expressions: [string, string][] = [
  ...rules.map((r): [string, string] => [`alert ${r.alert ?? '?'}`, r.expr]),
  ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t): [string, string] => [`panel "${p.title}"`, t.expr])),
];

/** Metric names an expression selects, or the offsets of its syntax errors. */
function read(expr: string): { metrics: string[]; errors: number[] } {
  const metrics: string[] = [];
  const errors: number[] = [];
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.type.isError) errors.push(cursor.from);
    if (cursor.name === 'Identifier' && cursor.node.parent?.name === 'VectorSelector') metrics.push(expr.slice(cursor.from, cursor.to));
  } while (cursor.next());
  return { metrics, errors };
}

/** Prometheus's own series (scrape health), not ours. */
const PROMETHEUS_SERIES = new Set(['up']);

async function exported(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
  }
  return names;
}

test('the grammar check can fail: a broken expression and an unknown-looking name are caught', () => {
  expect(read('max by (a (foo').errors.length).toBeGreaterThan(0);
  expect(read('rate(wutong_backup_nope_total[5m])').metrics).toEqual(['wutong_backup_nope_total']);
});

test('the rule ships the four alerts the issue asks for', () => {
  expect(prometheusRule.kind).toBe('PrometheusRule');
  expect(rules.map((r) => r.alert).sort()).toEqual(['WutongBackupFailed', 'WutongBackupOverdue', 'WutongBackupPolicyInvalid', 'WutongBackupWebhookNotReady']);
  expect(dashboard.panels.length).toBeGreaterThan(3);
});

test.each(expressions)('%s parses as PromQL and names only metrics the code exports', async (_where, expr) => {
  const { metrics, errors } = read(expr);
  expect(errors).toEqual([]);
  expect(metrics.length).toBeGreaterThan(0);
  const names = await exported();
  expect(metrics.filter((m) => !names.has(m) && !PROMETHEUS_SERIES.has(m))).toEqual([]);
});

test('per-component alerts aggregate over replicas by the component, so two replicas make one alert', () => {
  for (const name of ['WutongBackupOverdue', 'WutongBackupFailed']) {
    const rule = rules.find((r) => r.alert === name);
    expect(rule?.expr).toMatch(/max by \(namespace, service_id, service_alias, tenant_name, tenant_env_name/);
  }
});
