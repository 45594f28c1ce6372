import type { AdmissionReviewResponse } from '../../src/admission/admission-review.js';
import { handleReview } from '../../src/admission/review-handler.js';
import type { CompiledPolicy } from '../../src/policy/compiled-policy.js';
import { PolicyStore } from '../../src/policy/policy-store.js';
import { loadFixturePolicy, loadPodCase } from '../fixtures/pod-cases.js';
import { sample, startWebhook, type Webhook } from './https-harness.js';

// A compiled policy no loader would produce: a bug stand-in that makes the
// mutation throw for every Wutong pod.
const broken = { ...loadFixturePolicy(), rules: null } as unknown as CompiledPolicy;

let webhook: Webhook;
beforeAll(async () => {
  webhook = await startWebhook(new PolicyStore(broken));
}, 30_000); // RSA key generation on a busy machine
afterAll(async () => {
  await webhook.stop();
});

test('the broken policy really makes handleReview throw (so the test below exercises the error path)', () => {
  expect(() => handleReview(loadPodCase('mysql-statefulset').input.request, broken)).toThrow(TypeError);
});

test('an internal error allows the pod unchanged, counts outcome="error" and logs it', async () => {
  const metrics = async (): Promise<string> => (await webhook.call('/metrics', { method: 'GET' })).body;
  const errors = (text: string): number => sample(text, 'wutong_backup_admission_requests_total{outcome="error"}');
  const before = errors(await metrics());
  const logsBefore = webhook.logs.length;

  for (const name of ['mysql-statefulset', 'v1beta1-review']) {
    const { input } = loadPodCase(name);
    const reply = await webhook.call('/mutate', { body: JSON.stringify(input) });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body) as AdmissionReviewResponse).toStrictEqual({
      apiVersion: input.apiVersion,
      kind: 'AdmissionReview',
      response: { uid: input.request.uid, allowed: true },
    });
  }

  expect(errors(await metrics())).toBe(before + 2);
  const logged = webhook.logs.slice(logsBefore).filter((line) => line.msg === 'admission failed; pod allowed unchanged');
  expect(logged).toHaveLength(2);
  expect(logged[0]).toMatchObject({ level: 50, uid: '3b6c2f0e-1a4d-4e8b-9c7f-5d2a1b0e9f86', name: 'gr3a9f1c-0' });
  // The error is logged, the pod (with its MYSQL_ROOT_PASSWORD env) is not.
  expect(JSON.stringify(logged)).not.toContain('Wt-8f2c7a9d');
});

test('pods the broken policy never reaches are still answered normally', async () => {
  const skipped = async (): Promise<number> =>
    sample((await webhook.call('/metrics', { method: 'GET' })).body, 'wutong_backup_admission_requests_total{outcome="skipped"}');
  const before = await skipped();
  const { input } = loadPodCase('non-wutong-pod');
  const reply = await webhook.call('/mutate', { body: JSON.stringify(input) });
  expect(JSON.parse(reply.body)).toMatchObject({ response: { uid: input.request.uid, allowed: true } });
  expect(await skipped()).toBe(before + 1);
});
