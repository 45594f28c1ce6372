import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { FileCertificateSource } from '../../../src/certificates/file-certificate-source.js';
import { SecretCertificateReader } from '../../../src/certificates/secret-certificate-reader.js';
import { SecretCertificateSource } from '../../../src/certificates/secret-certificate-source.js';
import { tlsConfigFromEnv } from '../../../src/certificates/tls-config.js';
import { createCertificateSource } from '../../../src/kube/create-certificate-source.js';
import { rolesFromEnv } from '../../../src/roles/role.js';

const log = pino({ level: 'silent' });
const ALL = rolesFromEnv('all');

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
  await expect(createCertificateSource(tlsConfigFromEnv({}, c), c, ALL, log)).resolves.toBeInstanceOf(SecretCertificateSource);
  await expect(createCertificateSource(tlsConfigFromEnv({ TLS_SOURCE: 'files' }, c), c, ALL, log)).resolves.toBeInstanceOf(FileCertificateSource);
  await expect(createCertificateSource(tlsConfigFromEnv({}, undefined), undefined, ALL, log)).resolves.toBeInstanceOf(FileCertificateSource);
});

test('TLS_SOURCE=self: the controller role (all included) keeps the Secret, the webhook and api roles only read it', async () => {
  const c = cluster();
  const self = tlsConfigFromEnv({}, c);
  for (const role of ['all', 'controller', 'webhook,controller']) {
    await expect(createCertificateSource(self, c, rolesFromEnv(role), log)).resolves.toBeInstanceOf(SecretCertificateSource);
  }
  for (const role of ['webhook', 'api', 'webhook,api']) {
    await expect(createCertificateSource(self, c, rolesFromEnv(role), log)).resolves.toBeInstanceOf(SecretCertificateReader);
  }
});

test('TLS_SOURCE=files is the same for every role', async () => {
  const c = cluster();
  for (const role of ['all', 'webhook', 'api', 'controller']) {
    await expect(createCertificateSource(tlsConfigFromEnv({ TLS_SOURCE: 'files' }, c), c, rolesFromEnv(role), log)).resolves.toBeInstanceOf(FileCertificateSource);
  }
});

test('self mode without cluster access is a clear error', async () => {
  const c = cluster();
  await expect(createCertificateSource(tlsConfigFromEnv({}, c), undefined, ALL, log)).rejects.toThrow(/TLS_SOURCE=self needs cluster access/);
  await expect(createCertificateSource(tlsConfigFromEnv({}, c), undefined, rolesFromEnv('webhook'), log)).rejects.toThrow(/TLS_SOURCE=self needs cluster access/);
});
