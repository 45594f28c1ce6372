import { EVERY_NAMESPACE, TenantDirectory } from '../../../src/tenancy/tenant-directory.js';
import { DEFAULT_TENANT_LABELS, matchesSelector, selectorTerms, tenantLabelsFromEnv } from '../../../src/tenancy/tenant-labels.js';
import { namespaceSummary } from '../../../src/kube/tenant-namespace-watch.js';
import { tenantNamespaceLabels } from './tenant-fixtures.js';

// Tenant envs are read from namespace labels, which tenants cannot write: the
// directory is what maps a route's tenant/env to a namespace, and what makes
// a namespace a place where components exist at all.

const ACME = { tenantName: 'acme', tenantEnvName: 'prod' };

function directory(): { dir: TenantDirectory; heard: string[] } {
  const dir = new TenantDirectory(DEFAULT_TENANT_LABELS);
  const heard: string[] = [];
  dir.subscribe((namespace) => heard.push(namespace));
  return { dir, heard };
}

describe('which namespaces are tenant envs', () => {
  test('Wutong\'s labels make one: managed-by=wutong, tenant_name and tenant_env_name', () => {
    const { dir } = directory();
    dir.upsert({ name: 'acme-prod', labels: tenantNamespaceLabels('acme', 'prod') });
    expect(dir.envOf('acme-prod')).toEqual(ACME);
    expect(dir.isTenantNamespace('acme-prod')).toBe(true);
    expect(dir.namespaces()).toEqual(['acme-prod']);
  });

  test.each([
    ['not managed by Wutong', { tenant_name: 'acme', tenant_env_name: 'prod' }],
    ['managed by someone else', { 'app.kubernetes.io/managed-by': 'helm', tenant_name: 'acme', tenant_env_name: 'prod' }],
    ['no tenant_name', { 'app.kubernetes.io/managed-by': 'wutong', tenant_env_name: 'prod' }],
    ['no tenant_env_name', { 'app.kubernetes.io/managed-by': 'wutong', tenant_name: 'acme' }],
    ['an empty tenant_name', { 'app.kubernetes.io/managed-by': 'wutong', tenant_name: '', tenant_env_name: 'prod' }],
  ])('%s: no tenant env', (_what, labels) => {
    const { dir, heard } = directory();
    dir.upsert({ name: 'kube-system', labels });
    expect(dir.envOf('kube-system')).toBeUndefined();
    expect(dir.isTenantNamespace('kube-system')).toBe(false);
    expect(dir.namespaceOf(ACME)).toEqual({ found: false, reason: 'unknown', namespaces: [] });
    expect(heard).toEqual([]);
  });

  test('a platform that labels differently: its own selector and label names', () => {
    const dir = new TenantDirectory({ selector: 'platform=paas,tier=tenant', tenantName: 'example.com/tenant', tenantEnvName: 'example.com/env' });
    dir.upsert({ name: 'ns1', labels: { platform: 'paas', tier: 'tenant', 'example.com/tenant': 'acme', 'example.com/env': 'prod' } });
    dir.upsert({ name: 'ns2', labels: { platform: 'paas', 'example.com/tenant': 'beta', 'example.com/env': 'prod' } });
    dir.upsert({ name: 'ns3', labels: tenantNamespaceLabels('gamma', 'prod') });
    expect(dir.namespaces()).toEqual(['ns1']);
    expect(dir.namespaceOf(ACME)).toEqual({ found: true, namespace: 'ns1' });
  });
});

describe('tenant env → namespace', () => {
  test('found, unknown, or ambiguous when two namespaces carry the same env (refused, never a guess)', () => {
    const { dir } = directory();
    dir.upsert({ name: 'acme-prod', labels: tenantNamespaceLabels('acme', 'prod') });
    dir.upsert({ name: 'acme-test', labels: tenantNamespaceLabels('acme', 'test') });
    expect(dir.namespaceOf(ACME)).toEqual({ found: true, namespace: 'acme-prod' });
    expect(dir.namespaceOf({ tenantName: 'acme', tenantEnvName: 'staging' })).toEqual({ found: false, reason: 'unknown', namespaces: [] });
    // tenant/env pairs are not confused by where the slash falls.
    expect(dir.namespaceOf({ tenantName: 'acme/prod', tenantEnvName: '' })).toMatchObject({ found: false, reason: 'unknown' });
    dir.upsert({ name: 'zz-copy', labels: tenantNamespaceLabels('acme', 'prod') });
    dir.upsert({ name: 'aa-copy', labels: tenantNamespaceLabels('acme', 'prod') });
    expect(dir.namespaceOf(ACME)).toEqual({ found: false, reason: 'ambiguous', namespaces: ['aa-copy', 'acme-prod', 'zz-copy'] });
    dir.remove('aa-copy');
    dir.remove('zz-copy');
    expect(dir.namespaceOf(ACME)).toEqual({ found: true, namespace: 'acme-prod' });
  });

  test('relabelled to another env: found under the new one only; unlabelled: gone; every change is told once', () => {
    const { dir, heard } = directory();
    dir.upsert({ name: 'ns', labels: tenantNamespaceLabels('acme', 'prod') });
    // The same labels again (a resync, an unrelated label): no news.
    dir.upsert({ name: 'ns', labels: { ...tenantNamespaceLabels('acme', 'prod'), team: 'x' } });
    expect(heard).toEqual(['ns']);
    dir.upsert({ name: 'ns', labels: tenantNamespaceLabels('acme', 'test') });
    expect(heard).toEqual(['ns', 'ns']);
    expect(dir.namespaceOf(ACME)).toMatchObject({ found: false, reason: 'unknown' });
    expect(dir.namespaceOf({ tenantName: 'acme', tenantEnvName: 'test' })).toEqual({ found: true, namespace: 'ns' });
    dir.upsert({ name: 'ns', labels: { team: 'x' } });
    expect(heard).toEqual(['ns', 'ns', 'ns']);
    expect(dir.envOf('ns')).toBeUndefined();
    expect(dir.namespaceOf({ tenantName: 'acme', tenantEnvName: 'test' })).toMatchObject({ found: false, reason: 'unknown' });
  });

  test('a namespace removed is told once; removing one it never knew tells nothing; unsubscribing stops the news', () => {
    const { dir, heard } = directory();
    const other: string[] = [];
    const off = dir.subscribe((ns) => other.push(ns));
    dir.upsert({ name: 'acme-prod', labels: tenantNamespaceLabels('acme', 'prod') });
    dir.remove('default');
    dir.remove('acme-prod');
    dir.remove('acme-prod');
    expect(heard).toEqual(['acme-prod', 'acme-prod']);
    expect(dir.isTenantNamespace('acme-prod')).toBe(false);
    expect(dir.namespaceOf(ACME)).toMatchObject({ found: false, reason: 'unknown' });
    off();
    dir.upsert({ name: 'acme-prod', labels: tenantNamespaceLabels('acme', 'prod') });
    expect(other).toEqual(['acme-prod', 'acme-prod']);
    expect(heard).toHaveLength(3);
  });
});

describe('the selector and the settings', () => {
  test('equality terms only, = or ==, whitespace around them ignored; an empty selector selects every namespace', () => {
    expect(selectorTerms('app.kubernetes.io/managed-by=wutong')).toEqual([['app.kubernetes.io/managed-by', 'wutong']]);
    expect(selectorTerms(' a == 1 , b=2')).toEqual([['a', '1'], ['b', '2']]);
    expect(selectorTerms('')).toEqual([]);
    expect(matchesSelector({ a: '1', b: '2', c: '3' }, [['a', '1'], ['b', '2']])).toBe(true);
    expect(matchesSelector({ a: '1' }, [['a', '1'], ['b', '2']])).toBe(false);
    expect(matchesSelector({}, [])).toBe(true);
  });

  test.each(['a!=1', 'a in (1,2)', '!a', 'a', 'a=1=2', 'a=b c', '-bad=1'])('"%s" is refused, naming the term', (selector) => {
    expect(() => selectorTerms(selector)).toThrow(RangeError);
    expect(() => selectorTerms(selector)).toThrow(/is not a key=value label term/);
  });

  test('defaults: Wutong\'s own labels', () => {
    expect(tenantLabelsFromEnv({})).toEqual({ selector: 'app.kubernetes.io/managed-by=wutong', tenantName: 'tenant_name', tenantEnvName: 'tenant_env_name' });
    expect(tenantLabelsFromEnv({ TENANT_NAMESPACE_SELECTOR: 'platform=paas', TENANT_NAME_LABEL: 'example.com/tenant', TENANT_ENV_NAME_LABEL: 'env' })).toEqual({
      selector: 'platform=paas',
      tenantName: 'example.com/tenant',
      tenantEnvName: 'env',
    });
  });

  test.each([
    [{ TENANT_NAMESPACE_SELECTOR: 'managed-by!=wutong' }, /^TENANT_NAMESPACE_SELECTOR: "managed-by!=wutong" is not a key=value label term$/],
    [{ TENANT_NAME_LABEL: 'not a label' }, /^TENANT_NAME_LABEL: "not a label" is not a label key$/],
    [{ TENANT_ENV_NAME_LABEL: '' }, /^TENANT_ENV_NAME_LABEL: "" is not a label key$/],
    [{ TENANT_ENV_NAME_LABEL: 'Example.COM/env' }, /^TENANT_ENV_NAME_LABEL: /],
  ])('%j: an error naming the variable', (env, message) => {
    expect(() => tenantLabelsFromEnv(env)).toThrow(message);
  });
});

test('EVERY_NAMESPACE (the uninstall tool): every namespace counts, and it never notifies', () => {
  expect(EVERY_NAMESPACE.isTenantNamespace('anything')).toBe(true);
  expect(EVERY_NAMESPACE.envOf('anything')).toEqual({ tenantName: '', tenantEnvName: '' });
  const off = EVERY_NAMESPACE.subscribe(() => {
    throw new Error('never called');
  });
  off();
});

test('the namespace watch keeps a namespace\'s name and string labels, nothing else', () => {
  expect(namespaceSummary({ metadata: { name: 'acme-prod', uid: 'u', labels: { tenant_name: 'acme', bad: 3 }, annotations: { big: 'x' } }, spec: {} })).toEqual({ name: 'acme-prod', labels: { tenant_name: 'acme' } });
  expect(namespaceSummary({ metadata: { name: 'bare' } })).toEqual({ name: 'bare', labels: {} });
  expect(namespaceSummary({ metadata: {} })).toBeUndefined();
  expect(namespaceSummary('nonsense')).toBeUndefined();
});
