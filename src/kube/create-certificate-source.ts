import type { Logger } from 'pino';
import type { CertificateSource } from '../certificates/certificate-source.js';
import { FileCertificateSource } from '../certificates/file-certificate-source.js';
import { SecretCertificateReader } from '../certificates/secret-certificate-reader.js';
import { SecretCertificateSource } from '../certificates/secret-certificate-source.js';
import type { TlsConfig } from '../certificates/tls-config.js';
import { keepsTlsSecret, type Role } from '../roles/role.js';
import type { ClusterAccess } from './kube-config.js';

/**
 * The certificate source TLS_SOURCE asks for (see tlsConfigFromEnv), wired to
 * the cluster when needed; the Kubernetes adapters load only in that case.
 * With TLS_SOURCE=self a process of the controller role keeps the Secret and
 * caBundle (SecretCertificateSource); any other process only reads the Secret
 * (SecretCertificateReader) and is never handed a client that could write
 * either. TLS_SOURCE=files is the same for every role.
 */
export async function createCertificateSource(config: TlsConfig, cluster: ClusterAccess | undefined, roles: ReadonlySet<Role>, log: Logger): Promise<CertificateSource> {
  if (config.source === 'files') {
    return new FileCertificateSource({
      dir: config.dir,
      reloadIntervalMs: config.reloadIntervalMs,
      ...(config.generateMissingFor ? { generateMissingFor: config.generateMissingFor } : {}),
      log,
    });
  }
  if (!cluster) throw new Error('TLS_SOURCE=self needs cluster access: run in a pod with a service account, or set KUBECONFIG');
  if (!keepsTlsSecret(roles)) {
    const { kubeTlsSecretReader } = await import('./tls-secret-store.js');
    return new SecretCertificateReader(kubeTlsSecretReader(cluster.kubeConfig, config.namespace, config.secretName), {
      hosts: config.hosts,
      reloadIntervalMs: config.reloadIntervalMs,
      log,
    });
  }
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
