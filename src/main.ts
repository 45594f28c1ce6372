import { resolve } from 'node:path';
import { generateDevelopmentTls, hasTlsFiles, readTlsDir } from './certificates/tls-files.js';
import { configFromEnv } from './config.js';
import { logger } from './observability/logger.js';
import { findCluster } from './kube/kube-config.js';
import { loadDefaultPolicy } from './policy/default-policy.js';
import { startPolicySource } from './policy/start-policy-source.js';
import { PolicyStore } from './policy/policy-store.js';
import { startHttpsServer } from './server/https-server.js';
import { webhookApp } from './server/webhook-app.js';

const EXAMPLE_REVIEW = JSON.stringify({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'example-1',
    namespace: 'demo',
    object: {
      metadata: { labels: { creator: 'Wutong', service_id: '0123456789abcdef0123456789abcdef' } },
      spec: {
        containers: [{ name: 'mysql', image: 'mysql:8.0', volumeMounts: [{ name: 'data', mountPath: '/var/lib/mysql' }] }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-mysql-0' } }],
      },
    },
  },
});

async function main(): Promise<void> {
  const config = configFromEnv();
  const log = logger;

  const cluster = findCluster();
  log.info({ cluster: cluster?.source ?? 'none (standalone)', namespace: cluster?.namespace }, 'starting');

  const store = new PolicyStore(loadDefaultPolicy(0));
  const stopWatching = await startPolicySource(
    cluster && !config.policyFileExplicit
      ? { kind: 'configmap', cluster, name: config.policyConfigMap }
      : { kind: 'file', path: resolve(config.policyFile) },
    store,
    log,
  );

  const tlsDir = resolve(config.tlsDir);
  if (!hasTlsFiles(tlsDir)) {
    generateDevelopmentTls(tlsDir);
    log.warn({ tlsDir }, 'no TLS files found: generated a development CA and serving certificate for localhost/127.0.0.1');
  }
  const tls = readTlsDir(tlsDir);
  const server = await startHttpsServer(webhookApp(store, log), tls, config.port, config.host);
  log.info({ url: server.url, tlsDir, policy: store.current().source }, 'webhook serving');
  log.info(
    `try it: curl -s --cacert ${tlsDir}/ca.crt -H 'Content-Type: application/json' ${server.url.replace('127.0.0.1', 'localhost')}/mutate -d '${EXAMPLE_REVIEW}'`,
  );

  const shutdown = (signal: string): void => {
    log.info({ signal }, 'shutting down');
    stopWatching();
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'failed to start');
  process.exit(1);
});
