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
  expect(caBundlePatch(configuration([undefined, 'T0xE', 'TkVX']), () => 'NEW')).toEqual([
    { op: 'add', path: '/metadata/resourceVersion', value: '42' },
    { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: 'TkVX' },
    { op: 'add', path: '/webhooks/1/clientConfig/caBundle', value: 'TkVX' },
  ]);
});

test('no patch when every entry already carries the bundle', () => {
  expect(caBundlePatch(configuration(['TkVX', 'TkVX']), () => 'NEW')).toEqual([]);
  expect(caBundlePatch(configuration([]), () => 'NEW')).toEqual([]);
});

test('each entry gets the bundle computed from what it holds now (decoded PEM), so a merge keeps what others added', () => {
  const seen: string[] = [];
  const patch = caBundlePatch(configuration([undefined, 'T0xE']), (current) => {
    seen.push(current);
    return `NEW${current}`;
  });
  expect(seen).toEqual(['', 'OLD']);
  expect(patch).toEqual([
    { op: 'add', path: '/metadata/resourceVersion', value: '42' },
    { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: Buffer.from('NEW').toString('base64') },
    { op: 'add', path: '/webhooks/1/clientConfig/caBundle', value: Buffer.from('NEWOLD').toString('base64') },
  ]);
});
