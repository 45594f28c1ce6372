import type { AdmissionregistrationV1Api, V1MutatingWebhook } from '@kubernetes/client-node';

export interface Registration {
  name: string;
  /** Webhook configurations are cluster-wide: each test file limits its own to its namespace. */
  namespace: string;
  url: string;
  caPem: string;
  failurePolicy?: 'Ignore' | 'Fail';
  reinvocationPolicy?: 'Never' | 'IfNeeded';
  timeoutSeconds?: number;
}

export function webhookEntry(r: Registration): V1MutatingWebhook {
  return {
    name: `${r.name}.backup.wutong.io`,
    admissionReviewVersions: ['v1', 'v1beta1'],
    clientConfig: { url: `${r.url}/mutate`, caBundle: Buffer.from(r.caPem).toString('base64') },
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
    failurePolicy: r.failurePolicy ?? 'Ignore',
    matchPolicy: 'Equivalent',
    sideEffects: 'None',
    timeoutSeconds: r.timeoutSeconds ?? 5,
    reinvocationPolicy: r.reinvocationPolicy ?? 'Never',
    namespaceSelector: { matchLabels: { 'e2e-suite': r.namespace } },
    objectSelector: { matchExpressions: [{ key: 'backup.wutong.io/inject', operator: 'NotIn', values: ['false'] }] },
  };
}

/** Registers (or replaces) a MutatingWebhookConfiguration pointing at a webhook URL with its CA as caBundle. */
export async function registerWebhook(api: AdmissionregistrationV1Api, r: Registration): Promise<void> {
  await api.deleteMutatingWebhookConfiguration({ name: r.name }).catch(() => undefined);
  await api.createMutatingWebhookConfiguration({ body: { metadata: { name: r.name }, webhooks: [webhookEntry(r)] } });
}

export async function unregisterWebhook(api: AdmissionregistrationV1Api, name: string): Promise<void> {
  await api.deleteMutatingWebhookConfiguration({ name }).catch(() => undefined);
}
