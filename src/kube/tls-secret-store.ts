import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { DEFAULT_REQUEST_TIMEOUT_MS, makeApiClient } from './api-client.js';
import { TlsSecretConflictError, type StoredTlsSecret, type TlsSecretData, type TlsSecretReader, type TlsSecretStore } from '../certificates/cluster-interfaces.js';
import { apiErrorMessage, apiStatus } from './api-error.js';

const LABELS = { 'app.kubernetes.io/name': 'wutong-backup', 'app.kubernetes.io/component': 'webhook-tls' };

/**
 * The webhook's kubernetes.io/tls Secret, read only: what the webhook and api
 * roles are given, so their processes hold no function that could write it.
 */
export function kubeTlsSecretReader(kubeConfig: KubeConfig, namespace: string, name: string, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): TlsSecretReader {
  const api = makeApiClient(kubeConfig, CoreV1Api, requestTimeoutMs);
  const description = `${namespace}/${name}`;
  return {
    description,
    async get() {
      try {
        return stored(await api.readNamespacedSecret({ name, namespace }));
      } catch (err) {
        if (apiStatus(err) === 404) return undefined;
        throw new Error(`reading Secret ${description} failed: ${apiErrorMessage(err)}`);
      }
    },
  };
}

/** The webhook's kubernetes.io/tls Secret, read and written through CoreV1Api (the controller role keeps it). */
export function kubeTlsSecretStore(kubeConfig: KubeConfig, namespace: string, name: string, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS): TlsSecretStore {
  const api = makeApiClient(kubeConfig, CoreV1Api, requestTimeoutMs);
  const reader = kubeTlsSecretReader(kubeConfig, namespace, name, requestTimeoutMs);
  const { description } = reader;
  const failure = (action: string, err: unknown): Error => new Error(`${action} Secret ${description} failed: ${apiErrorMessage(err)}`);
  return {
    description,
    get: () => reader.get(),
    async create(data) {
      const body: V1Secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace, labels: LABELS },
        type: 'kubernetes.io/tls',
        data: encode(data),
      };
      try {
        return stored(await api.createNamespacedSecret({ namespace, body }));
      } catch (err) {
        if (apiStatus(err) === 409) throw new TlsSecretConflictError(`Secret ${description} already exists`);
        throw failure('creating', err);
      }
    },
    async update(data, resourceVersion) {
      // A JSON patch that sets metadata.resourceVersion makes the API server
      // refuse it with 409 if the Secret changed since it was read
      // (optimistic concurrency), and unlike a replace it keeps labels and
      // annotations others put on the Secret.
      const body = [
        { op: 'add', path: '/metadata/resourceVersion', value: resourceVersion },
        { op: 'add', path: '/data', value: encode(data) },
      ];
      try {
        return stored(await api.patchNamespacedSecret({ name, namespace, body }));
      } catch (err) {
        const status = apiStatus(err);
        // 404: deleted since it was read; re-reading finds it absent and creates it.
        if (status === 409 || status === 404) throw new TlsSecretConflictError(`Secret ${description} changed since it was read`);
        throw failure('updating', err);
      }
    },
  };
}

function encode(data: TlsSecretData): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')]));
}

function stored(secret: V1Secret): StoredTlsSecret {
  const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]));
  return { data, resourceVersion: secret.metadata?.resourceVersion ?? '' };
}
