import { resolve } from 'node:path';
import { followCertificateSource } from './certificates/certificate-source.js';
import { tlsConfigFromEnv } from './certificates/tls-config.js';
import { createCertificateSource } from './kube/create-certificate-source.js';
import { configFromEnv, type Config } from './config.js';
import { logger } from './observability/logger.js';
import { findCluster } from './kube/kube-config.js';
import { loadDefaultPolicy } from './policy/default-policy.js';
import { startPolicySource } from './policy/start-policy-source.js';
import { PolicyStore } from './policy/policy-store.js';
import { BodyBudget } from './server/body-budget.js';
import { startHttpsServer } from './server/https-server.js';
import { Shutdown } from './server/shutdown.js';
import { webhookApp } from './server/webhook-app.js';
import { apiApp, type ApiBackend } from './api/api-app.js';
import { apiBodyReadDeadline } from './api/body-deadline.js';
import { loadClientCa } from './api/auth/client-ca.js';
import { PACKAGE_VERSION } from './package-root.js';

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

async function main(config: Config, shutdown: Shutdown): Promise<void> {
  const log = logger;

  const cluster = await findCluster();
  const roles = config.roles;
  log.info({ cluster: cluster?.source ?? 'none (standalone)', namespace: cluster?.namespace, roles: [...roles] }, 'starting');

  // The policy: what the webhook injects and what the controller protects (the API reads none of it).
  const store = new PolicyStore(loadDefaultPolicy(0));
  if (roles.has('webhook') || roles.has('controller')) {
    const stopWatching = await startPolicySource(
      cluster && !config.policyFileExplicit
        ? { kind: 'configmap', cluster, name: config.policyConfigMap }
        : { kind: 'file', path: resolve(config.policyFile) },
      store,
      log,
    );
    shutdown.onStop(stopWatching);
  }

  const tlsConfig = tlsConfigFromEnv(process.env, cluster);
  // TLS_SOURCE=self: the controller role keeps the Secret and caBundle, the webhook and api roles only read the Secret.
  const tls = await createCertificateSource(tlsConfig, cluster, roles, log);
  shutdown.onStop(() => tls.stop());
  // A reader waits here until the controller has created the Secret; nothing listens meanwhile, so the probes fail.
  await tls.start();
  const readiness = new Map([
    ['tls', () => tls.healthy()],
    ['shutdown', shutdown.readiness],
  ]);
  const budget = new BodyBudget(config.bodyBudgetBytes);
  // /metrics needs a token allowed to GET it, in a cluster (METRICS_AUTH); standalone there is no API server to ask, and it stays open.
  const metricsAccess = cluster && config.metricsAuth ? (await import('./kube/create-metrics-access.js')).createMetricsAccess(cluster, config, log) : undefined;
  const server = await startHttpsServer(
    // Every role serves its probes and /metrics here; only the webhook role answers admission reviews.
    webhookApp(store, log, { readiness, budget, excludedNamespaces: config.excludedNamespaces, bodyReadTimeoutMs: config.admissionBodyReadTimeoutMs, metricsAccess, admission: roles.has('webhook') }),
    tls.current(),
    config.port,
    config.host,
  );
  shutdown.onStop(followCertificateSource(tls, (material) => server.setTls(material)));
  shutdown.serving(server);
  log.info(
    { url: server.url, tls: tlsConfig.source, policy: store.current().source, admission: roles.has('webhook'), metrics: metricsAccess ? 'bearer token allowed to get /metrics' : 'open' },
    roles.has('webhook') ? 'webhook serving' : 'probes and metrics serving',
  );

  let backend: ApiBackend | undefined;
  // The webhook role alone keeps nothing of the cluster: no component, tenant or Velero cache (its memory does not grow with the cluster).
  if (cluster && (roles.has('api') || roles.has('controller'))) {
    const { createClusterRuntime } = await import('./roles/cluster-runtime.js');
    const runtime = createClusterRuntime(cluster, config, store, log);
    backend = runtime.backend;
    runtime.start();
    shutdown.onSignal(() => runtime.stopController());
    shutdown.onStop(() => runtime.stop());
  }
  if (!roles.has('api')) return;
  const clientCa = config.apiClientCaFile ? loadClientCa(config.apiClientCaFile) : undefined;
  const app = apiBodyReadDeadline(apiApp({ ...(backend ? { backend } : {}), log, version: PACKAGE_VERSION }), config.bodyReadTimeoutMs);
  const api = await startHttpsServer(app, tls.current(), config.apiPort, config.host, clientCa);
  shutdown.onStop(followCertificateSource(tls, (material) => api.setTls(material)));
  shutdown.serving(api);
  log.info({ url: api.url, cluster: backend ? 'connected' : 'none: component routes answer 503', clientCertificates: Boolean(clientCa) }, 'backup API serving');

  if (tlsConfig.source === 'files') {
    const caFile = resolve(tlsConfig.dir, 'ca.crt');
    log.info(
      `try it: curl -s --cacert ${caFile} -H 'Content-Type: application/json' ${server.url.replace('127.0.0.1', 'localhost')}/mutate -d '${EXAMPLE_REVIEW}'`,
    );
    log.info(`try the backup API: curl -s --cacert ${caFile} ${api.url.replace('127.0.0.1', 'localhost')}/v2/openapi.json`);
  }
}

// Signals first: node is PID 1 in the image, so until a handler is installed
// SIGTERM does nothing, and startup can wait on the network.
const shutdown = new Shutdown({ log: logger });
shutdown.install();
try {
  const config = configFromEnv();
  shutdown.drainMs = config.shutdownDrainMs;
  await main(config, shutdown);
} catch (err) {
  logger.fatal({ err }, 'failed to start');
  process.exit(1);
}
