import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { selectorMatches, webhookSees, type WebhookScope } from '../../../src/controller/webhook-scope.js';
import { PACKAGE_ROOT } from '../../../src/package-root.js';

const WUTONG_POD = { creator: 'Wutong', service_id: '5f3c1b2a9d8e4f60a7b1c2d3e4f5a6b7' };

/** The selectors of the shipped MutatingWebhookConfiguration (manifests/base). */
function shippedWebhooks(): WebhookScope[] {
  const doc = parse(readFileSync(join(PACKAGE_ROOT, 'manifests', 'base', 'mutatingwebhookconfiguration.yaml'), 'utf8')) as { webhooks: WebhookScope[] };
  return doc.webhooks;
}

/** The shipped webhooks with an overlay's JSON 6902 replace of /webhooks/0/namespaceSelector applied. */
function overlayWebhooks(overlay: string, file: string): WebhookScope[] {
  const ops = parseAllDocuments(readFileSync(join(PACKAGE_ROOT, 'manifests', 'overlays', overlay, file), 'utf8')).flatMap((d) => d.toJS() as { op: string; path: string; value: unknown }[]);
  const webhooks = structuredClone(shippedWebhooks());
  for (const op of ops) {
    expect(op).toMatchObject({ op: 'replace', path: '/webhooks/0/namespaceSelector' });
    webhooks[0]!.namespaceSelector = op.value as WebhookScope['namespaceSelector'];
  }
  return webhooks;
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
