import { AdmissionregistrationV1Api, type KubeConfig, type V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { DEFAULT_REQUEST_TIMEOUT_MS, makeApiClient } from './api-client.js';
import { WebhookConfigurationNotFoundError, type WebhookCaBundle } from '../certificates/cluster-interfaces.js';
import { apiErrorMessage, apiStatus } from './api-error.js';

const MAX_ATTEMPTS = 5;

export interface JsonPatchOperation {
  op: 'add' | 'replace' | 'remove' | 'test';
  path: string;
  value?: unknown;
}

/**
 * JSON patch that sets each webhook entry's caBundle to bundleFor(its
 * current bundle) where that differs; empty when all already match. Pinning
 * resourceVersion makes the API server reject the patch (409) if the
 * configuration changed since it was read, so entries are never addressed by
 * a stale index and no one else's concurrent change is overwritten.
 */
export function caBundlePatch(configuration: V1MutatingWebhookConfiguration, bundleFor: (currentPem: string) => string): JsonPatchOperation[] {
  const changes: JsonPatchOperation[] = (configuration.webhooks ?? []).flatMap((webhook, index) => {
    const current = Buffer.from(webhook.clientConfig.caBundle ?? '', 'base64').toString('utf8');
    const wanted = bundleFor(current);
    if (wanted === current) return [];
    return [{ op: 'add' as const, path: `/webhooks/${index}/clientConfig/caBundle`, value: Buffer.from(wanted, 'utf8').toString('base64') }];
  });
  if (changes.length === 0) return [];
  return [{ op: 'add', path: '/metadata/resourceVersion', value: configuration.metadata?.resourceVersion ?? '' }, ...changes];
}

/** caBundle of every entry in the project's MutatingWebhookConfiguration. */
export function kubeWebhookCaBundle(kubeConfig: KubeConfig, name: string, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): WebhookCaBundle {
  const api = makeApiClient(kubeConfig, AdmissionregistrationV1Api, requestTimeoutMs);
  const description = `MutatingWebhookConfiguration ${name}`;
  const notFound = (): Error => new WebhookConfigurationNotFoundError(`${description} not found`);
  return {
    description,
    async ensure(bundleFor) {
      for (let attempt = 1; ; attempt++) {
        let configuration: V1MutatingWebhookConfiguration;
        try {
          configuration = await api.readMutatingWebhookConfiguration({ name });
        } catch (err) {
          if (apiStatus(err) === 404) throw notFound();
          throw new Error(`reading ${description} failed: ${apiErrorMessage(err)}`);
        }
        const body = caBundlePatch(configuration, bundleFor);
        if (body.length === 0) return false;
        try {
          await api.patchMutatingWebhookConfiguration({ name, body });
          return true;
        } catch (err) {
          const status = apiStatus(err);
          if (status === 404) throw notFound();
          if (status === 409 && attempt < MAX_ATTEMPTS) continue;
          throw new Error(`patching caBundle of ${description} failed: ${apiErrorMessage(err)}`);
        }
      }
    },
  };
}
