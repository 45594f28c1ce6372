import { caBundlePatch } from '../../../src/kube/webhook-configuration-client.js';

const configuration = (bundles: (string | undefined)[]) => ({
  metadata: { name: 'wutong-backup', resourceVersion: '42' },
  webhooks: bundles.map((caBundle, i) => ({
    name: `hook-${i}.wutong.io`,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    clientConfig: { service: { name: 'wutong-backup', namespace: 'ns' }, ...(caBundle === undefined ? {} : { caBundle }) },
  })),
});

test('sets caBundle on every entry that lacks it or differs, pinned to the resourceVersion read', () => {
  expect(caBundlePatch(configuration([undefined, 'T0xE', 'TkVX']), 'TkVX')).toEqual([
    { op: 'add', path: '/metadata/resourceVersion', value: '42' },
    { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: 'TkVX' },
    { op: 'add', path: '/webhooks/1/clientConfig/caBundle', value: 'TkVX' },
  ]);
});

test('no patch when every entry already carries the bundle', () => {
  expect(caBundlePatch(configuration(['TkVX', 'TkVX']), 'TkVX')).toEqual([]);
  expect(caBundlePatch(configuration([]), 'TkVX')).toEqual([]);
});
