import type { Logger } from 'pino';
import type { CertificateSource } from '../certificates/certificate-source.js';
import { FileCertificateSource } from '../certificates/file-certificate-source.js';
import { SecretCertificateSource } from '../certificates/secret-certificate-source.js';
import type { TlsConfig } from '../certificates/tls-config.js';
import type { ClusterAccess } from './kube-config.js';

/**
 * The certificate source TLS_SOURCE asks for (see tlsConfigFromEnv), wired to
 * the cluster when needed; the Kubernetes adapters load only in that case.
 */
export async function createCertificateSource(config: TlsConfig, cluster: ClusterAccess | undefined, log: Logger): Promise<CertificateSource> {
  if (config.source === 'files') {
    return new FileCertificateSource({
      dir: config.dir,
      reloadIntervalMs: config.reloadIntervalMs,
      ...(config.generateMissingFor ? { generateMissingFor: config.generateMissingFor } : {}),
      log,
    });
  }
  if (!cluster) throw new Error('TLS_SOURCE=self needs cluster access: run in a pod with a service account, or set KUBECONFIG');
  // One after the other: jest's ESM loader fails two concurrent imports of one shared module.
  const { kubeTlsSecretStore } = await import('./tls-secret-store.js');
  const { kubeWebhookCaBundle } = await import('./webhook-configuration-client.js');
  return new SecretCertificateSource(
    kubeTlsSecretStore(cluster.kubeConfig, config.namespace, config.secretName),
    kubeWebhookCaBundle(cluster.kubeConfig, config.webhookConfigurationName),
    {
      hosts: config.hosts,
      caValidityMs: config.caValidityMs,
      certValidityMs: config.certValidityMs,
      overlapMs: config.overlapMs,
      checkIntervalMs: config.checkIntervalMs,
      reloadIntervalMs: config.reloadIntervalMs,
      log,
    },
  );
}
