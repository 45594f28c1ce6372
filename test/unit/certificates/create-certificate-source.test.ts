import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { FileCertificateSource } from '../../../src/certificates/file-certificate-source.js';
import { SecretCertificateSource } from '../../../src/certificates/secret-certificate-source.js';
import { tlsConfigFromEnv } from '../../../src/certificates/tls-config.js';
import { createCertificateSource } from '../../../src/kube/create-certificate-source.js';

const log = pino({ level: 'silent' });

function cluster(): { kubeConfig: KubeConfig; source: string; namespace: string } {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: false }],
    users: [{ name: 'u', token: 'not-used' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u', namespace: 'e2e' }],
    currentContext: 'x',
  });
  return { kubeConfig, source: 'in-cluster', namespace: 'e2e' };
}

test('TLS_SOURCE picks the source; nothing is contacted before start()', async () => {
  const c = cluster();
  await expect(createCertificateSource(tlsConfigFromEnv({}, c), c, log)).resolves.toBeInstanceOf(SecretCertificateSource);
  await expect(createCertificateSource(tlsConfigFromEnv({ TLS_SOURCE: 'files' }, c), c, log)).resolves.toBeInstanceOf(FileCertificateSource);
  await expect(createCertificateSource(tlsConfigFromEnv({}, undefined), undefined, log)).resolves.toBeInstanceOf(FileCertificateSource);
});

test('self mode without cluster access is a clear error', async () => {
  const c = cluster();
  await expect(createCertificateSource(tlsConfigFromEnv({}, c), undefined, log)).rejects.toThrow(/TLS_SOURCE=self needs cluster access/);
});
