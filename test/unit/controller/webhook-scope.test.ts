import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { podCreationScopes, selectorMatches, webhookSees, type WebhookEntry, type WebhookScope } from '../../../src/controller/webhook-scope.js';
import { PACKAGE_ROOT } from '../../../src/package-root.js';

const WUTONG_POD = { creator: 'Wutong', service_id: '5f3c1b2a9d8e4f60a7b1c2d3e4f5a6b7' };

/** The entries of the shipped MutatingWebhookConfiguration (manifests/base). */
function shippedEntries(): WebhookEntry[] {
  const doc = parse(readFileSync(join(PACKAGE_ROOT, 'manifests', 'base', 'mutatingwebhookconfiguration.yaml'), 'utf8')) as { webhooks: WebhookEntry[] };
  return doc.webhooks;
}

/** The selectors backfill reads from the shipped configuration: its pod-creation entries'. */
function shippedWebhooks(): WebhookScope[] {
  return podCreationScopes(shippedEntries());
}

/** The shipped pod webhooks with an overlay's JSON 6902 replaces of /webhooks/<i>/namespaceSelector applied. */
function overlayWebhooks(overlay: string, file: string): WebhookScope[] {
  const ops = parseAllDocuments(readFileSync(join(PACKAGE_ROOT, 'manifests', 'overlays', overlay, file), 'utf8')).flatMap((d) => d.toJS() as { op: string; path: string; value: unknown }[]);
  const entries = structuredClone(shippedEntries());
  for (const op of ops) {
    const index = /^\/webhooks\/(\d+)\/namespaceSelector$/.exec(op.path)?.[1];
    expect(op.op).toBe('replace');
    expect(index).toBeDefined();
    entries[Number(index)]!.namespaceSelector = op.value as WebhookScope['namespaceSelector'];
  }
  return podCreationScopes(entries);
}

describe('the shipped webhook configuration', () => {
  const webhooks = shippedWebhooks();
  test('sees a Wutong pod in an unlabelled namespace (Kubernetes 1.20 sets no kubernetes.io/metadata.name)', () => {
    expect(webhookSees(webhooks, {}, WUTONG_POD)).toBe(true);
  });
  test('does not see pods of a namespace labelled backup.wutong.io/inject=false', () => {
    expect(webhookSees(webhooks, { 'backup.wutong.io/inject': 'false' }, WUTONG_POD)).toBe(false);
  });
  test('does not see a pod labelled backup.wutong.io/inject=false', () => {
    expect(webhookSees(webhooks, {}, { ...WUTONG_POD, 'backup.wutong.io/inject': 'false' })).toBe(false);
  });
  test('does not see kube-system or its own namespace where Kubernetes (>= 1.21) labels namespaces by name', () => {
    expect(webhookSees(webhooks, { 'kubernetes.io/metadata.name': 'kube-system' }, WUTONG_POD)).toBe(false);
    expect(webhookSees(webhooks, { 'kubernetes.io/metadata.name': 'wutong-backup' }, WUTONG_POD)).toBe(false);
    expect(webhookSees(webhooks, { 'kubernetes.io/metadata.name': 'shop' }, WUTONG_POD)).toBe(true);
  });
});

test('the trial overlay sees only namespaces labelled backup.wutong.io/inject=true', () => {
  const webhooks = overlayWebhooks('trial', 'trial-webhook.yaml');
  expect(webhookSees(webhooks, {}, WUTONG_POD)).toBe(false);
  expect(webhookSees(webhooks, { 'backup.wutong.io/inject': 'true' }, WUTONG_POD)).toBe(true);
});

test('the configuration has the pod webhook and the upgrade hold\'s workload webhook; backfill reads only the pod one\'s selectors', () => {
  expect(shippedEntries().map((w) => w.name)).toEqual(['pods.backup.wutong.io', 'workloads.backup.wutong.io']);
  expect(shippedWebhooks()).toEqual([{ namespaceSelector: shippedEntries()[0]!.namespaceSelector, objectSelector: shippedEntries()[0]!.objectSelector }]);
  // The workload entry sends only creator=Wutong objects: were its selectors read as a pod webhook's, a pod without that label would count as "not seen".
  expect(webhookSees(shippedWebhooks(), {}, { service_id: WUTONG_POD.service_id })).toBe(true);
});

test('the trial overlay narrows both entries to the opted-in namespaces', () => {
  const ops = parseAllDocuments(readFileSync(join(PACKAGE_ROOT, 'manifests', 'overlays', 'trial', 'trial-webhook.yaml'), 'utf8')).flatMap((d) => d.toJS() as { path: string }[]);
  expect(ops.map((o) => o.path)).toEqual(['/webhooks/0/namespaceSelector', '/webhooks/1/namespaceSelector']);
});

test('several webhooks: a pod any of them sees is seen; none at all sees nothing', () => {
  const onlyShop: WebhookScope = { namespaceSelector: { matchLabels: { team: 'shop' } } };
  const onlyOps: WebhookScope = { namespaceSelector: { matchLabels: { team: 'ops' } } };
  expect(webhookSees([onlyShop, onlyOps], { team: 'ops' }, WUTONG_POD)).toBe(true);
  expect(webhookSees([onlyShop, onlyOps], { team: 'dev' }, WUTONG_POD)).toBe(false);
  expect(webhookSees([], {}, WUTONG_POD)).toBe(false);
});

describe('label selectors, as Kubernetes evaluates them', () => {
  const labels = { tier: 'db', env: 'prod' };
  test.each([
    [undefined, true],
    [{}, true],
    [{ matchLabels: { tier: 'db' } }, true],
    [{ matchLabels: { tier: 'web' } }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['db', 'cache'] }] }, true],
    [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    [{ matchExpressions: [{ key: 'env', operator: 'Exists' }] }, true],
    [{ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, true],
    [{ matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] }, false],
    [{ matchLabels: { tier: 'db' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['dev'] }] }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'Gt', values: ['1'] }] }, false],
  ])('%j → %s', (selector, expected) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });
});
