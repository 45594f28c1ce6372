import type { Logger } from 'pino';
import type { CertificateSource } from '../certificates/certificate-source.js';
import { FileCertificateSource } from '../certificates/file-certificate-source.js';
import { SecretCertificateSource } from '../certificates/secret-certificate-source.js';
import type { TlsConfig } from '../certificates/tls-config.js';
import type { ClusterAccess } from './kube-config.js';
import { kubeTlsSecretStore } from './tls-secret-store.js';
import { kubeWebhookCaBundle } from './webhook-configuration-client.js';

/** The certificate source TLS_SOURCE asks for (see tlsConfigFromEnv), wired to the cluster when needed. */
export function createCertificateSource(config: TlsConfig, cluster: ClusterAccess | undefined, log: Logger): CertificateSource {
  if (config.source === 'files') {
    return new FileCertificateSource({
      dir: config.dir,
      reloadIntervalMs: config.reloadIntervalMs,
      ...(config.generateMissingFor ? { generateMissingFor: config.generateMissingFor } : {}),
      log,
    });
  }
  if (!cluster) throw new Error('TLS_SOURCE=self needs cluster access: run in a pod with a service account, or set KUBECONFIG');
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
