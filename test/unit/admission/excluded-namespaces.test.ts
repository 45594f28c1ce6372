import { excludedNamespacesFrom } from '../../../src/admission/excluded-namespaces.js';
import { handleReview } from '../../../src/admission/review-handler.js';
import { loadFixturePolicy, loadPodCase } from '../../fixtures/pod-cases.js';

const policy = loadFixturePolicy();
const mysqlPod = (): unknown => loadPodCase('mysql-statefulset').input.request.object;

describe('namespaces the webhook skips itself (Kubernetes 1.20 has no kubernetes.io/metadata.name label to select on)', () => {
  test('by default kube-system and the webhook’s own namespace are skipped, any other namespace is mutated', () => {
    const excluded = excludedNamespacesFrom({ POD_NAMESPACE: 'backup-system' });
    expect(handleReview({ uid: 'k', namespace: 'kube-system', object: mysqlPod() }, policy, excluded)).toMatchObject({
      response: { uid: 'k', allowed: true },
      outcome: 'skipped',
      skipReason: expect.stringContaining('kube-system') as unknown,
    });
    expect(handleReview({ uid: 'o', namespace: 'backup-system', object: mysqlPod() }, policy, excluded).outcome).toBe('skipped');
    expect(handleReview({ uid: 'a', namespace: 'shop', object: mysqlPod() }, policy, excluded).outcome).toBe('patched');
  });

  test('EXCLUDED_NAMESPACES replaces the default list; the own namespace stays excluded; blanks are ignored', () => {
    expect([...excludedNamespacesFrom({ EXCLUDED_NAMESPACES: ' infra, ,monitoring ' })].sort()).toEqual(['infra', 'monitoring', 'wutong-backup']);
    expect([...excludedNamespacesFrom({ EXCLUDED_NAMESPACES: '' })]).toEqual(['wutong-backup']);
    expect([...excludedNamespacesFrom({})].sort()).toEqual(['kube-system', 'wutong-backup']);
  });
});
