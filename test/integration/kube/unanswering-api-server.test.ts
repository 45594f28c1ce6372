import { jest } from '@jest/globals';
import { pino } from 'pino';
import { serviceHosts } from '../../../src/certificates/issue-certificates.js';
import { SecretCertificateSource } from '../../../src/certificates/secret-certificate-source.js';
import { kubeTlsSecretStore } from '../../../src/kube/tls-secret-store.js';
import { kubeWebhookCaBundle } from '../../../src/kube/webhook-configuration-client.js';
import { loadDefaultPolicy } from '../../../src/policy/default-policy.js';
import { PolicyStore } from '../../../src/policy/policy-store.js';
import { startPolicySource } from '../../../src/policy/start-policy-source.js';
import { startSilentEndpoint, type SilentEndpoint } from './silent-endpoint.js';

// Against an API server that accepts connections and never answers, nothing
// may wait forever: each call fails after its timeout and the next one runs.
jest.setTimeout(90_000);

let endpoint: SilentEndpoint;
beforeEach(async () => {
  endpoint = await startSilentEndpoint();
});
afterEach(async () => {
  await endpoint.close();
});

function capturingLogger(): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

/** The promise's outcome, or a rejection saying it was still pending after ms (what a wedge looks like). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

test('TLS upkeep: a check against a silent API server fails after the request timeout, and the next one still runs', async () => {
  const kc = endpoint.kubeConfig();
  const source = new SecretCertificateSource(kubeTlsSecretStore(kc, 'wutong-backup', 'wutong-backup-tls', 1_000), kubeWebhookCaBundle(kc, 'wutong-backup', 1_000), {
    hosts: serviceHosts('wutong-backup', 'wutong-backup'),
    caValidityMs: 365 * 86_400_000,
    certValidityMs: 90 * 86_400_000,
    overlapMs: 86_400_000,
    checkIntervalMs: 3_600_000,
    reloadIntervalMs: 10_000,
    log: pino({ level: 'silent' }),
  });
  try {
    await expect(within(source.checkNow(), 20_000)).rejects.toThrow(/reading Secret wutong-backup\/wutong-backup-tls failed: no answer from the API server within the request timeout/);
    // The serial queue drained: a reload queued behind it runs, and fails the same bounded way.
    await expect(within(source.reloadNow(), 20_000)).rejects.toThrow(/no answer from the API server/);
    expect(endpoint.accepted()).toBeGreaterThanOrEqual(2);
  } finally {
    source.stop();
  }
});

test('policy: startup against a silent API server serves the built-in default after the first-list wait, and keeps trying', async () => {
  const { log, lines } = capturingLogger();
  const store = new PolicyStore(loadDefaultPolicy(0));
  const builtIn = store.current().source;
  const stop = await within(
    startPolicySource({ kind: 'configmap', cluster: { kubeConfig: endpoint.kubeConfig(), source: 'test', namespace: 'wutong-backup' }, name: 'wutong-backup-policy', firstListWaitMs: 1_000 }, store, log),
    15_000,
  );
  try {
    expect(store.current().source).toBe(builtIn);
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['policy ConfigMap not listed in time; starting anyway and still watching', 'no valid policy loaded: serving the built-in default']));
    // The list itself times out (15 s) and the watch retries on a new connection.
    const deadline = Date.now() + 40_000;
    while (endpoint.accepted() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(endpoint.accepted()).toBeGreaterThanOrEqual(2);
    expect(lines.some((l) => l.msg === 'list/watch failed; relisting' && /no answer from the API server within 15000 ms/.test(String(l.err)))).toBe(true);
  } finally {
    stop();
  }
});
