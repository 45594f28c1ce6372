import { jest } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import { SECRET_KEYS, type TlsSecretData } from '../../../src/certificates/cluster-interfaces.js';
import { issueCa, issueServingCertificate, serviceHosts } from '../../../src/certificates/issue-certificates.js';
import { SecretCertificateSource, type SecretCertificateSourceOptions } from '../../../src/certificates/secret-certificate-source.js';
import type { TlsMaterial } from '../../../src/certificates/tls-files.js';
import { inspectSecretData } from '../../../src/certificates/tls-state.js';
import { certificateRegenerations } from '../../../src/observability/metrics.js';
import { inMemoryCluster as cluster, type InMemoryCluster as Cluster } from './in-memory-cluster.js';
import { certificatesIn, trustedBy } from './pem.js';

// RSA key generation is slow on a loaded CI machine; each test issues several keys.
jest.setTimeout(60_000);

const DAY = 86_400_000;
const HOSTS = serviceHosts('wutong-backup', 'test-ns');
const log = pino({ level: 'silent' });


const started: SecretCertificateSource[] = [];
afterEach(() => started.splice(0).forEach((s) => s.stop()));

function source({ store, webhook, clock }: Cluster, options: Partial<SecretCertificateSourceOptions> = {}): SecretCertificateSource {
  const s = new SecretCertificateSource(store, webhook, {
    hosts: HOSTS,
    caValidityMs: 5 * 365 * DAY,
    certValidityMs: 365 * DAY,
    overlapMs: DAY,
    checkIntervalMs: 12 * 3_600_000,
    reloadIntervalMs: 10_000,
    retryDelayMs: 1,
    clock: clock.now,
    log,
    ...options,
  });
  started.push(s);
  return s;
}

async function regenerations(reason: string): Promise<number> {
  return (await certificateRegenerations.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

function secret(c: Cluster): TlsSecretData {
  const data = c.store.peek();
  if (!data) throw new Error('the Secret was not created');
  return data;
}

describe('bootstrap', () => {
  test('creates the Secret, serves its pair and puts its CA into caBundle', async () => {
    const c = cluster();
    const before = await regenerations('absent');
    const s = source(c);
    await s.start();

    const data = secret(c);
    expect(Object.keys(data).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    expect(inspectSecretData(data, HOSTS, c.clock.now()).usable).toBe(true);
    expect(s.current()).toEqual({ cert: data['tls.crt'], key: data['tls.key'], ca: data['ca.crt'] });
    expect(c.webhook.bundle).toBe(data['ca.crt']);
    expect(s.healthy()).toBeUndefined();
    expect(await regenerations('absent')).toBe(before + 1);
  });

  test('two replicas starting at once converge on one CA and one pair', async () => {
    const c = cluster();
    const [a, b] = [source(c), source(c)];
    await Promise.all([a.start(), b.start()]);

    // Both found the Secret missing; one create lost and adopted the winner's Secret.
    expect(c.store.conflicts).toBeGreaterThanOrEqual(1);
    expect(c.store.writes).toBe(1);
    const data = secret(c);
    expect(a.current()).toEqual(b.current());
    expect(a.current().cert).toBe(data['tls.crt']);
    expect(certificatesIn(c.webhook.bundle ?? '').map((x) => x.fingerprint256)).toEqual([new X509Certificate(data['ca.crt'] ?? '').fingerprint256]);
  });

  test('the CA that loses the race for the Secret never reaches caBundle: every bundle ever written holds committed CAs only', async () => {
    for (let round = 0; round < 5; round++) {
      const c = cluster();
      await Promise.all([source(c).start(), source(c).start(), source(c).start()]);
      expect(c.store.writes).toBe(1);
      const committed = new Set(c.store.history.flatMap((d) => [d['ca.crt'], d['ca-previous.crt']]).filter((pem): pem is string => pem !== undefined).map((pem) => new X509Certificate(pem).fingerprint256));
      expect(c.webhook.history.length).toBeGreaterThanOrEqual(1);
      for (const bundle of c.webhook.history) {
        for (const ca of certificatesIn(bundle)) expect(committed.has(ca.fingerprint256)).toBe(true);
      }
    }
  });

  test('a new pair is served only once caBundle trusts it', async () => {
    const c = cluster();
    const s = source(c);
    const trustedWhenServed: boolean[] = [];
    s.onChange((m) => trustedWhenServed.push(trustedBy(c.webhook.bundle ?? '', m.cert)));
    await s.start();
    expect(trustedBy(c.webhook.bundle ?? '', s.current().cert)).toBe(true);
    c.store.put({ ...secret(c), 'ca.key': 'garbage' }); // CA unusable: a new CA is generated
    await s.reloadNow();
    expect(trustedWhenServed).toEqual([true, true]); // the first pair, then the repaired one
  });

  test('adopts a valid Secret without rewriting it', async () => {
    const c = cluster();
    await source(c).start();
    const writes = c.store.writes;
    const data = secret(c);

    const later = source(c);
    await later.start();
    expect(c.store.writes).toBe(writes);
    expect(later.current().cert).toBe(data['tls.crt']);
  });

  test('keeps retrying while the API server is unreachable, then starts', async () => {
    const c = cluster();
    c.store.failingGets = 3;
    const s = source(c);
    await s.start();
    expect(s.healthy()).toBeUndefined();
    expect(c.store.failingGets).toBe(0);
  });

  test('serves even when the webhook configuration does not exist yet, and sets caBundle once it does', async () => {
    const c = cluster();
    c.webhook.exists = false;
    const s = source(c);
    await s.start();
    expect(s.healthy()).toBeUndefined();
    expect(c.webhook.bundle).toBeUndefined();

    c.webhook.exists = true;
    await s.reloadNow();
    expect(c.webhook.bundle).toBe(secret(c)['ca.crt']);
  });

  test('a caBundle someone emptied or overwrote is restored at the next reload, keeping CAs others added', async () => {
    const c = cluster();
    const s = source(c);
    await s.start();
    const ca = secret(c)['ca.crt'] ?? '';
    c.webhook.bundle = '';
    await s.reloadNow();
    expect(c.webhook.bundle).toBe(ca);

    const foreign = issueCa('someone-elses-ca', { validityMs: 365 * DAY, now: c.clock.now() }).cert;
    c.webhook.bundle = foreign;
    await s.reloadNow();
    expect(certificatesIn(c.webhook.bundle ?? '').map((x) => x.fingerprint256)).toEqual([new X509Certificate(ca).fingerprint256, new X509Certificate(foreign).fingerprint256]);
  });

  test('is not ready before start, or when the served certificate has expired', async () => {
    const c = cluster();
    const s = source(c, { certValidityMs: DAY });
    expect(s.healthy()).toMatch(/no serving certificate/);
    await s.start();
    c.clock.advance(2 * DAY);
    expect(s.healthy()).toMatch(/expired at 2030-01-02T00:00:00.000Z/);
  });
});

describe('upkeep cannot wedge', () => {
  test('a Secret read that never answers fails after the operation deadline; reloads keep running and pick up the next pair', async () => {
    const c = cluster();
    const s = source(c, { reloadIntervalMs: 50, operationDeadlineMs: 300 });
    await s.start();
    const first = s.current().cert;
    c.store.hanging = true;
    await expect(s.checkNow()).rejects.toThrow(/still running after 300 ms/);
    c.store.hanging = false;

    const ca = issueCa('another-replicas-ca', { validityMs: 365 * DAY, now: c.clock.now() });
    const serving = issueServingCertificate(ca, HOSTS, { validityMs: 90 * DAY, now: c.clock.now() });
    c.store.put({ 'ca.crt': ca.cert, 'ca.key': ca.key, 'tls.crt': serving.cert, 'tls.key': serving.key });
    const deadline = Date.now() + 10_000;
    while (s.current().cert === first && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(s.current().cert).toBe(serving.cert);
  });
});

describe('bad Secret contents are regenerated, never fatal', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const goodCa = issueCa('good-ca', { validityMs: 365 * DAY, now });
  const good = issueServingCertificate(goodCa, HOSTS, { validityMs: 90 * DAY, now });
  const otherKey = issueServingCertificate(goodCa, HOSTS, { validityMs: 90 * DAY, now }).key;
  const expired = issueServingCertificate(goodCa, HOSTS, { validityMs: DAY, now: new Date(now.getTime() - 10 * DAY) });
  const tooFewNames = issueServingCertificate(goodCa, ['wutong-backup'], { validityMs: 90 * DAY, now });
  const strangerCa = issueCa('stranger', { validityMs: 365 * DAY, now });
  const foreign = issueServingCertificate(strangerCa, HOSTS, { validityMs: 90 * DAY, now });
  const base = { 'ca.crt': goodCa.cert, 'ca.key': goodCa.key, 'tls.crt': good.cert, 'tls.key': good.key };

  test.each([
    ['corrupt', 'corrupt serving certificate', { ...base, 'tls.crt': '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n' }],
    ['key-mismatch', 'key of another certificate', { ...base, 'tls.key': otherKey }],
    ['expired', 'expired serving certificate', { ...base, 'tls.crt': expired.cert, 'tls.key': expired.key }],
    ['missing-san', 'certificate without the Service SANs', { ...base, 'tls.crt': tooFewNames.cert, 'tls.key': tooFewNames.key }],
    ['wrong-issuer', 'certificate from another CA', { ...base, 'tls.crt': foreign.cert, 'tls.key': foreign.key }],
    ['corrupt', 'corrupt previous CA', { ...base, 'ca-previous.crt': 'garbage' }],
  ] as [string, string, TlsSecretData][])('%s (%s): new serving pair from the existing CA', async (reason, _what, data) => {
    const c = cluster();
    c.store.put(data);
    const before = await regenerations(reason);
    const s = source(c);
    await s.start();

    const repaired = secret(c);
    expect(inspectSecretData(repaired, HOSTS, c.clock.now()).usable).toBe(true);
    expect(repaired['ca.crt']).toBe(goodCa.cert);
    expect(repaired['tls.crt']).not.toBe(data['tls.crt']);
    expect(repaired[SECRET_KEYS.previousCa]).toBeUndefined();
    expect(s.current().cert).toBe(repaired['tls.crt']);
    expect(await regenerations(reason)).toBe(before + 1);
  });

  test.each([
    ['corrupt', 'corrupt CA', { ...base, 'ca.crt': 'garbage' }],
    ['key-mismatch', 'CA key of another CA', { ...base, 'ca.key': strangerCa.key }],
    ['not-a-ca', 'leaf certificate as CA', { ...base, 'ca.crt': good.cert, 'ca.key': good.key }],
    ['expired', 'expired CA', { ...base, ...expiredCa() }],
    ['absent', 'empty placeholder Secret', {}],
  ] as [string, string, TlsSecretData][])('%s (%s): new CA and serving pair', async (reason, _what, data) => {
    const c = cluster();
    c.store.put(data);
    const before = await regenerations(reason);
    await source(c).start();

    const repaired = secret(c);
    expect(inspectSecretData(repaired, HOSTS, c.clock.now()).usable).toBe(true);
    expect(repaired['ca.crt']).not.toBe(data['ca.crt']);
    expect(c.webhook.bundle).toBe(repaired['ca.crt']);
    expect(await regenerations(reason)).toBe(before + 1);
  });

  function expiredCa(): TlsSecretData {
    const old = issueCa('old', { validityMs: DAY, now: new Date(now.getTime() - 10 * DAY) });
    return { 'ca.crt': old.cert, 'ca.key': old.key };
  }

  test('a Secret broken while running is repaired at the next reload; the working pair is served meanwhile', async () => {
    const c = cluster();
    const s = source(c);
    await s.start();
    const served = s.current();
    c.store.put({ ...secret(c), 'tls.key': 'garbage' });

    await s.reloadNow();
    const repaired = secret(c);
    expect(inspectSecretData(repaired, HOSTS, c.clock.now()).usable).toBe(true);
    expect(repaired['ca.crt']).toBe(served.ca);
    expect(s.current().cert).toBe(repaired['tls.crt']);
  });
});

describe('renewal', () => {
  test('renews the serving certificate once less than a third of its lifetime remains, with the same CA', async () => {
    const c = cluster();
    const s = source(c, { certValidityMs: 90 * DAY });
    await s.start();
    const first = secret(c);
    const changes: TlsMaterial[] = [];
    s.onChange((m) => changes.push(m));
    const before = await regenerations('renewal');

    c.clock.advance(59 * DAY); // 31 of 90 days left
    await s.checkNow();
    expect(secret(c)['tls.crt']).toBe(first['tls.crt']);
    expect(changes).toHaveLength(0);

    c.clock.advance(2 * DAY); // 29 of 90 days left
    await s.checkNow();
    const renewed = secret(c);
    expect(renewed['tls.crt']).not.toBe(first['tls.crt']);
    expect(renewed['ca.crt']).toBe(first['ca.crt']);
    expect(changes.map((m) => m.cert)).toEqual([renewed['tls.crt']]);
    expect(await regenerations('renewal')).toBe(before + 1);
  });

  test('another replica picks up the renewed pair from the Secret and hands it to its listener', async () => {
    const c = cluster();
    const [writer, follower] = [source(c, { certValidityMs: 90 * DAY }), source(c, { certValidityMs: 90 * DAY })];
    await writer.start();
    await follower.start();
    const applied: string[] = [];
    follower.onChange((m) => applied.push(m.cert));

    c.clock.advance(61 * DAY);
    await writer.checkNow();
    await follower.reloadNow();
    expect(applied).toEqual([secret(c)['tls.crt']]);
    expect(follower.current()).toEqual(writer.current());
  });
});

describe('CA rotation', () => {
  test('adds the new CA, switches the serving certificate after the overlap, then drops the old CA; every pair served stays trusted', async () => {
    const c = cluster();
    // CA due at day 20 (a third of 30 days left); serving certificate not due for months.
    const s = source(c, { caValidityMs: 30 * DAY, certValidityMs: 365 * DAY, overlapMs: DAY });
    await s.start();
    const initial = secret(c);
    const served: string[] = [initial['tls.crt'] ?? ''];
    /** Each pair served so far is trusted by the bundle, except pairs from before the last completed step. */
    const assertServedPairsTrusted = (recent: number): void => {
      for (const cert of served.slice(-recent)) expect(trustedBy(c.webhook.bundle ?? '', cert)).toBe(true);
    };

    c.clock.advance(20 * DAY + 60_000);
    await s.checkNow();
    const step1 = secret(c);
    expect(step1['ca-previous.crt']).toBe(initial['ca.crt']);
    expect(step1['ca.crt']).not.toBe(initial['ca.crt']);
    expect(step1['tls.crt']).toBe(initial['tls.crt']);
    expect(certificatesIn(c.webhook.bundle ?? '')).toHaveLength(2);
    expect(trustedBy(step1['ca.crt'] ?? '', step1['tls.crt'] ?? '')).toBe(false);
    assertServedPairsTrusted(1);

    c.clock.advance(DAY / 2);
    await s.checkNow();
    expect(secret(c)).toEqual(step1);

    c.clock.advance(DAY / 2);
    await s.checkNow();
    const step2 = secret(c);
    expect(step2['tls.crt']).not.toBe(step1['tls.crt']);
    expect(trustedBy(step2['ca.crt'] ?? '', step2['tls.crt'] ?? '')).toBe(true);
    expect(step2['ca-previous.crt']).toBe(initial['ca.crt']);
    served.push(step2['tls.crt'] ?? '');
    // Replicas that have not reloaded yet still serve the old pair: both must be trusted.
    assertServedPairsTrusted(2);
    expect(s.current().cert).toBe(step2['tls.crt']);

    c.clock.advance(DAY);
    await s.checkNow();
    const step3 = secret(c);
    expect(step3['ca-previous.crt']).toBeUndefined();
    expect(step3['tls.crt']).toBe(step2['tls.crt']);
    expect(c.webhook.bundle).toBe(step3['ca.crt']);
    assertServedPairsTrusted(1);
    expect(s.current().ca).toBe(step3['ca.crt']);
  });

  test('does not switch to the new CA while the webhook configuration cannot be updated', async () => {
    const c = cluster();
    const s = source(c, { caValidityMs: 30 * DAY, overlapMs: DAY });
    await s.start();
    c.clock.advance(20 * DAY + 60_000);
    await s.checkNow();
    const step1 = secret(c);

    c.webhook.failure = 'HTTP 500: etcdserver: request timed out';
    c.webhook.bundle = step1['ca-previous.crt']; // someone re-applied the old configuration
    c.clock.advance(DAY + 60_000);
    await expect(s.checkNow()).rejects.toThrow(/postponing the switch.*request timed out/);
    expect(secret(c)).toEqual(step1);

    c.webhook.failure = undefined;
    await s.checkNow();
    expect(trustedBy(c.webhook.bundle ?? '', secret(c)['tls.crt'] ?? '')).toBe(true);
    expect(secret(c)['tls.crt']).not.toBe(step1['tls.crt']);
  });

  test('short lifetimes still complete the rotation before the old CA expires', async () => {
    const c = cluster();
    // 60 s CA: rotation starts with 20 s left; each overlap is capped to 10 s.
    const s = source(c, { caValidityMs: 60_000, certValidityMs: 30_000, overlapMs: DAY });
    await s.start();
    const firstCa = secret(c)['ca.crt'];
    for (let t = 0; t < 60; t += 2) {
      c.clock.advance(2_000);
      await s.checkNow();
      const data = secret(c);
      expect(inspectSecretData(data, HOSTS, c.clock.now()).usable).toBe(true);
      expect(trustedBy(c.webhook.bundle ?? '', data['tls.crt'] ?? '')).toBe(true);
    }
    expect(secret(c)['ca.crt']).not.toBe(firstCa);
  });
});
