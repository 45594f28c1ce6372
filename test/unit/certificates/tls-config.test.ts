import { tlsConfigFromEnv } from '../../../src/certificates/tls-config.js';

const inCluster = { source: 'in-cluster', namespace: 'wutong-system' };
const kubeconfig = { source: '/tmp/kubeconfig', namespace: 'e2e' };

test('in a cluster the default is self-signed certificates in a Secret, for the two Service names only (webhook and backup API)', () => {
  expect(tlsConfigFromEnv({}, inCluster)).toEqual({
    source: 'self',
    namespace: 'wutong-system',
    secretName: 'wutong-backup-tls',
    webhookConfigurationName: 'wutong-backup',
    serviceName: 'wutong-backup',
    hosts: [
      'wutong-backup',
      'wutong-backup.wutong-system',
      'wutong-backup.wutong-system.svc',
      'wutong-backup.wutong-system.svc.cluster.local',
      'wutong-backup-api',
      'wutong-backup-api.wutong-system',
      'wutong-backup-api.wutong-system.svc',
      'wutong-backup-api.wutong-system.svc.cluster.local',
    ],
    caValidityMs: 5 * 365 * 86_400_000,
    certValidityMs: 365 * 86_400_000,
    checkIntervalMs: 12 * 3_600_000,
    reloadIntervalMs: 10_000,
    overlapMs: 24 * 3_600_000,
  });
});

test('self mode from a kubeconfig (API server calls the webhook by URL) also covers localhost and 127.0.0.1; everything is configurable', () => {
  const config = tlsConfigFromEnv(
    {
      TLS_SOURCE: 'self',
      TLS_SECRET_NAME: 'e2e-tls',
      WEBHOOK_CONFIGURATION_NAME: 'e2e-webhook',
      WEBHOOK_SERVICE_NAME: 'hook',
      API_SERVICE_NAME: 'api',
      TLS_EXTRA_HOSTS: 'webhook.example.com, 10.0.0.7',
      CA_VALIDITY: '60s',
      CERT_VALIDITY: '30s',
      TLS_CHECK_INTERVAL: '2s',
      TLS_RELOAD_INTERVAL: '1s',
      TLS_CA_OVERLAP: '5s',
    },
    kubeconfig,
  );
  expect(config).toMatchObject({
    source: 'self',
    namespace: 'e2e',
    secretName: 'e2e-tls',
    webhookConfigurationName: 'e2e-webhook',
    hosts: ['hook', 'hook.e2e', 'hook.e2e.svc', 'hook.e2e.svc.cluster.local', 'api', 'api.e2e', 'api.e2e.svc', 'api.e2e.svc.cluster.local', 'localhost', '127.0.0.1', 'webhook.example.com', '10.0.0.7'],
    caValidityMs: 60_000,
    certValidityMs: 30_000,
    checkIntervalMs: 2_000,
    reloadIntervalMs: 1_000,
    overlapMs: 5_000,
  });
});

test('without a cluster the default is development files, generated when missing', () => {
  expect(tlsConfigFromEnv({ TLS_DIR: '/tmp/dev-certs' }, undefined)).toEqual({
    source: 'files',
    dir: '/tmp/dev-certs',
    reloadIntervalMs: 10_000,
    generateMissingFor: ['localhost', '127.0.0.1'],
  });
});

test('TLS_SOURCE=files never generates: the files come from cert-manager or your PKI', () => {
  expect(tlsConfigFromEnv({ TLS_SOURCE: 'files' }, inCluster)).toEqual({ source: 'files', dir: 'certs', reloadIntervalMs: 10_000, generateMissingFor: undefined });
});

test('bad settings are named in the error', () => {
  expect(() => tlsConfigFromEnv({ TLS_SOURCE: 'cert-manager' }, inCluster)).toThrow('TLS_SOURCE must be "self" or "files", got "cert-manager"');
  expect(() => tlsConfigFromEnv({ CERT_VALIDITY: '1 year' }, inCluster)).toThrow(/^CERT_VALIDITY must be a duration/);
  expect(() => tlsConfigFromEnv({ TLS_SOURCE: 'self' }, undefined)).toThrow(/TLS_SOURCE=self needs cluster access/);
});

test('self mode refuses a reload interval with which the webhook and api roles would serve an expired or no longer trusted certificate', () => {
  // 30 s certificates are renewed 10 s before expiry: a reader re-reading every 10 s could still serve the old one when it expires.
  expect(() => tlsConfigFromEnv({ CERT_VALIDITY: '30s' }, inCluster)).toThrow(
    'TLS_RELOAD_INTERVAL (10000 ms) must be at most half of a third of CERT_VALIDITY (10000 ms): readers re-reading the Secret less often would serve a certificate that expired or whose CA left caBundle',
  );
  // The old CA leaves caBundle one overlap after the switch to the new one.
  expect(() => tlsConfigFromEnv({ TLS_CA_OVERLAP: '15s' }, inCluster)).toThrow(/at most half of the CA overlap \(15000 ms/);
  // The overlap is capped at a sixth of the CA's lifetime, and the check uses the capped value.
  expect(() => tlsConfigFromEnv({ CA_VALIDITY: '60s', CERT_VALIDITY: '1h' }, inCluster)).toThrow(/the CA overlap \(10000 ms/);
  expect(tlsConfigFromEnv({ CERT_VALIDITY: '60s', TLS_CA_OVERLAP: '20s' }, inCluster)).toMatchObject({ certValidityMs: 60_000, overlapMs: 20_000 });
  // files mode: someone else renews, the process only re-reads.
  expect(tlsConfigFromEnv({ TLS_SOURCE: 'files', CERT_VALIDITY: '30s' }, inCluster).source).toBe('files');
});
