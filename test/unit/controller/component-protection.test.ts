import { componentProtection, currentProtection, protectionFor } from '../../../src/controller/component-protection.js';
import { componentKey } from '../../../src/components/component-key.js';
import { viewSchedule } from '../../../src/velero/velero-views.js';
import { loadPolicy } from '../../../src/policy/load-policy.js';

const POLICY = loadPolicy(
  `apiVersion: backup.wutong.io/v1alpha1
kind: HookPolicy
rules:
  - name: plain-mysql
    profile: mysql
  - name: orders-db
    profile: mysql
    match: { namespaces: [shop], labels: { service_alias: gr3a9f } }
    protection: { schedule: "0 3 * * *", keep: 7 }
  - name: any-mysql
    match: { image: '(^|/)mysql:' }
    backup: { pre: { command: [x] } }
    protection: { schedule: "0 4 * * *", ttl: 7d }
  - name: app
    match: { containers: [app] }
    backup: { pre: { command: [x] } }
    protection: { schedule: "@hourly" }
`,
  'policy.yaml',
  1,
);

const LABELS = { service_alias: 'gr3a9f', service_id: 'a'.repeat(32) };
const MYSQL = [{ name: 'sidecar', image: 'envoy:1' }, { name: 'db', image: 'mysql:8.0' }];
const running = (namespace: string, labels: Record<string, string>, containers = MYSQL) => ({
  namespace,
  labels,
  workload: { template: { containers } },
});
const stopped = (namespace: string, labels: Record<string, string>) => ({ namespace, labels });

describe('which rule protects a component', () => {
  test('the first rule with protection that matches, skipping earlier rules without it', () => {
    expect(componentProtection(POLICY, running('shop', LABELS), undefined)).toEqual({
      rule: 'orders-db',
      schedule: '0 3 * * *',
      ttl: { label: '720h', spec: '720h0m0s' },
      keep: 7,
      backupBeforeUpgrade: false,
      upgradeHoldLimitMs: 900_000,
      backupOnStop: false,
      deletionHoldLimitMs: 300_000,
    });
  });

  test('namespaces and labels must select it: else a later rule may', () => {
    expect(componentProtection(POLICY, running('other', LABELS), undefined)?.rule).toBe('any-mysql');
    expect(componentProtection(POLICY, running('shop', { service_alias: 'zz' }), undefined)?.rule).toBe('any-mysql');
  });

  test('a container of the pod template must meet the rule\'s container condition', () => {
    expect(componentProtection(POLICY, running('other', LABELS, [{ name: 'db', image: 'postgres:16' }]), undefined)).toBeUndefined();
    expect(componentProtection(POLICY, running('other', LABELS, [{ name: 'app', image: 'x:1' }]), undefined)?.rule).toBe('app');
  });

  test('a running component is decided afresh, whatever rule made its Schedule', () => {
    expect(componentProtection(POLICY, running('other', LABELS), 'orders-db')?.rule).toBe('any-mysql');
  });

  test('a stopped component keeps the rule that made its Schedule while that rule still selects it', () => {
    expect(componentProtection(POLICY, stopped('shop', LABELS), 'orders-db')?.rule).toBe('orders-db');
    // the rule's namespaces no longer select it
    expect(componentProtection(POLICY, stopped('other', LABELS), 'orders-db')).toBeUndefined();
    // the rule is gone, or has no protection
    expect(componentProtection(POLICY, stopped('shop', LABELS), 'gone')).toBeUndefined();
    expect(componentProtection(POLICY, stopped('shop', LABELS), 'plain-mysql')).toBeUndefined();
  });

  test('a stopped component nothing protected before gets no protection: its containers are unknown', () => {
    expect(componentProtection(POLICY, stopped('shop', LABELS), undefined)).toBeUndefined();
  });

  test('a deleted component has none', () => {
    expect(componentProtection(POLICY, undefined, 'orders-db')).toBeUndefined();
  });

  test('protectionFor, for a pod (explain), is the running case', () => {
    expect(protectionFor(POLICY, 'shop', LABELS, MYSQL)?.rule).toBe('orders-db');
    expect(protectionFor(POLICY, 'shop', LABELS, [])).toBeUndefined();
  });
});

describe('the protection a registry component has now', () => {
  const policySchedule = (rule: string) =>
    viewSchedule({
      apiVersion: 'velero.io/v1', kind: 'Schedule',
      metadata: { name: 's', namespace: 'velero', uid: 'u', resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z', labels: { 'backup.wutong.io/schedule-source': 'policy' }, annotations: { 'backup.wutong.io/rule': rule } },
      spec: { schedule: '0 3 * * *', template: {} },
    });
  const deps = (schedules: ReturnType<typeof policySchedule>[]) => ({ policy: { current: () => POLICY }, cache: { schedulesOf: (key: string) => (key === componentKey('shop', 'a'.repeat(32)) ? (schedules.filter(Boolean) as never[]) : []) } });

  test('running: decided from the template; stopped: from the rule its policy Schedule names', () => {
    expect(currentProtection(deps([]), { key: componentKey('shop', 'a'.repeat(32)), ...running('shop', LABELS) })?.rule).toBe('orders-db');
    expect(currentProtection(deps([policySchedule('orders-db')]), { key: componentKey('shop', 'a'.repeat(32)), ...stopped('shop', LABELS) })?.rule).toBe('orders-db');
    expect(currentProtection(deps([]), { key: componentKey('shop', 'a'.repeat(32)), ...stopped('shop', LABELS) })).toBeUndefined();
    expect(currentProtection(deps([]), undefined)).toBeUndefined();
  });

  test('stopped: only its own namespace\'s Schedules count, not one of the same service_id elsewhere', () => {
    // any-mysql selects every namespace: only the component's key tells which Schedules are its own.
    expect(currentProtection(deps([policySchedule('any-mysql')]), { key: componentKey('shop', 'a'.repeat(32)), ...stopped('shop', LABELS) })?.rule).toBe('any-mysql');
    expect(currentProtection(deps([policySchedule('any-mysql')]), { key: componentKey('elsewhere', 'a'.repeat(32)), ...stopped('elsewhere', LABELS) })).toBeUndefined();
  });
});
