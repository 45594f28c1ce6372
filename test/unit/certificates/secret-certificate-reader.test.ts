import { jest } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { TlsSecretData, TlsSecretStore } from '../../../src/certificates/cluster-interfaces.js';
import { issueCa, issueServingCertificate, serviceHosts } from '../../../src/certificates/issue-certificates.js';
import { SecretCertificateReader, type SecretCertificateReaderOptions } from '../../../src/certificates/secret-certificate-reader.js';
import { SecretCertificateSource, type SecretCertificateSourceOptions } from '../../../src/certificates/secret-certificate-source.js';
import type { TlsMaterial } from '../../../src/certificates/tls-files.js';
import { inMemoryCluster as cluster, type InMemoryCluster as Cluster, type InMemoryTlsSecretStore } from './in-memory-cluster.js';
import { certificatesIn, trustedBy } from './pem.js';

// RSA key generation is slow on a loaded CI machine; each test issues several keys.
jest.setTimeout(60_000);

const DAY = 86_400_000;
const HOSTS = serviceHosts('wutong-backup', 'test-ns');
const silent = pino({ level: 'silent' });


/**
 * The store as the reader sees it, with a tripwire: touching anything but
 * get() and description (create, update, a patch, whatever else) throws, and
 * is counted, so a reader that so much as looks at a write fails the test.
 */
function readOnly(store: InMemoryTlsSecretStore): { reader: TlsSecretStore; forbidden: string[] } {
  const forbidden: string[] = [];
  const reader = new Proxy(store, {
    get(target, property) {
      if (property === 'get') return () => target.get();
      if (property === 'description') return target.description;
      forbidden.push(String(property));
      throw new Error(`the reader touched ${String(property)} of the Secret store`);
    },
  });
  return { reader, forbidden };
}

const running: Array<{ stop(): void }> = [];
afterEach(() => running.splice(0).forEach((s) => s.stop()));

function reader(c: Cluster, options: Partial<SecretCertificateReaderOptions> = {}): { source: SecretCertificateReader; forbidden: string[] } {
  const { reader: store, forbidden } = readOnly(c.store);
  const source = new SecretCertificateReader(store, { hosts: HOSTS, reloadIntervalMs: 60_000, retryDelayMs: 5, clock: c.clock.now, log: silent, ...options });
  running.push(source);
  return { source, forbidden };
}

function keeper(c: Cluster, options: Partial<SecretCertificateSourceOptions> = {}): SecretCertificateSource {
  const s = new SecretCertificateSource(c.store, c.webhook, {
    hosts: HOSTS,
    caValidityMs: 5 * 365 * DAY,
    certValidityMs: 365 * DAY,
    overlapMs: DAY,
    checkIntervalMs: 12 * 3_600_000,
    reloadIntervalMs: 60_000,
    retryDelayMs: 1,
    clock: c.clock.now,
    log: silent,
    ...options,
  });
  running.push(s);
  return s;
}

/** A usable Secret's data, as the keeper would have written it. */
function usableSecret(now: Date): TlsSecretData {
  const ca = issueCa('wutong-backup-ca@1', { validityMs: 365 * DAY, now });
  const serving = issueServingCertificate(ca, HOSTS, { validityMs: 90 * DAY, now });
  return { 'ca.crt': ca.cert, 'ca.key': ca.key, 'tls.crt': serving.cert, 'tls.key': serving.key };
}

/** Log lines at or above debug, parsed. */
function capturingLog(): { log: Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { log, lines };
}
const WARN = 40;

/** PEM of the CA in the pair's bundle that signed its certificate. */
function issuerOf(material: TlsMaterial): string {
  const cert = new X509Certificate(material.cert);
  const ca = certificatesIn(material.ca).find((c) => cert.checkIssued(c) && cert.verify(c.publicKey));
  if (!ca) throw new Error('the served pair has no issuer in its bundle');
  return ca.toString();
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('start', () => {
  test('waits for the controller to create the Secret, not ready meanwhile, then serves what it wrote', async () => {
    const c = cluster();
    const { log, lines } = capturingLog();
    const { source } = reader(c, { log });
    expect(source.healthy()).toBe('no serving certificate loaded yet');
    let started = false;
    const starting = source.start().then(() => (started = true));

    await until(() => lines.filter((l) => l.msg.startsWith('waiting for the controller')).length >= 2, 'two attempts');
    expect(started).toBe(false);
    expect(source.healthy()).toBe('waiting for the controller to create TLS Secret test-ns/wutong-backup-tls');
    expect(() => source.current()).toThrow(/no serving certificate yet/);
    // A fresh install waits like this until the controller runs: information, not a warning.
    expect(lines.filter((l) => l.msg.startsWith('waiting for the controller')).every((l) => l.level === 30)).toBe(true);

    const controller = keeper(c);
    await controller.start();
    await starting;
    expect(source.current()).toEqual(controller.current());
    expect(source.healthy()).toBeUndefined();
    expect(c.store.writes).toBe(1); // the keeper's create, nothing of the reader's
  });

  test('an unusable Secret is waited out too, with its reason, at warn', async () => {
    const c = cluster();
    const good = usableSecret(c.clock.now());
    c.store.put({ ...good, 'tls.key': 'garbage' });
    const { log, lines } = capturingLog();
    const { source } = reader(c, { log });
    const starting = source.start();

    await until(() => source.healthy()?.startsWith('waiting for the controller to repair') === true, 'the repair reason');
    expect(source.healthy()).toMatch(/^waiting for the controller to repair TLS Secret test-ns\/wutong-backup-tls: tls\.key is not a PEM private key/);
    expect(lines.some((l) => l.level === WARN && l.msg.startsWith('waiting for the controller to repair'))).toBe(true);

    c.store.put(good);
    await starting;
    expect(source.current().cert).toBe(good['tls.crt']);
    expect(source.healthy()).toBeUndefined();
  });

  test('a Secret that does not cover the Service names is not served', async () => {
    const c = cluster();
    const ca = issueCa('wutong-backup-ca@1', { validityMs: 365 * DAY, now: c.clock.now() });
    const narrow = issueServingCertificate(ca, ['wutong-backup'], { validityMs: 90 * DAY, now: c.clock.now() });
    c.store.put({ 'ca.crt': ca.cert, 'ca.key': ca.key, 'tls.crt': narrow.cert, 'tls.key': narrow.key });
    const { source } = reader(c);
    void source.start().catch(() => undefined);
    await until(() => source.healthy()?.includes('does not cover') === true, 'the missing SAN');
    expect(source.healthy()).toMatch(/tls\.crt does not cover wutong-backup\.test-ns/);
  });

  test('keeps retrying while the API server is unreachable, naming the error', async () => {
    const c = cluster();
    c.store.put(usableSecret(c.clock.now()));
    c.store.failingGets = 1_000;
    const { source } = reader(c);
    const starting = source.start();
    await until(() => source.healthy()?.startsWith('cannot read') === true, 'the read error');
    expect(source.healthy()).toBe('cannot read TLS Secret test-ns/wutong-backup-tls: connect ECONNREFUSED 10.96.0.1:443');
    c.store.failingGets = 0;
    await starting;
    expect(source.healthy()).toBeUndefined();
  });

  test('stop() ends the wait: start rejects instead of waiting on', async () => {
    const c = cluster();
    const { source } = reader(c, { retryDelayMs: 60_000 });
    const starting = source.start();
    await until(() => source.healthy()?.startsWith('waiting') === true, 'the first attempt');
    source.stop();
    await expect(starting).rejects.toThrow(/stopped before the TLS Secret test-ns\/wutong-backup-tls could be loaded/);
  });
});

describe('after start', () => {
  test('adopts the pair the keeper renewed at the next reload and hands it to its listeners', async () => {
    const c = cluster();
    const controller = keeper(c, { certValidityMs: 90 * DAY });
    await controller.start();
    const { source } = reader(c);
    await source.start();
    const applied: TlsMaterial[] = [];
    source.onChange((m) => applied.push(m));

    c.clock.advance(61 * DAY); // 29 of 90 days left: due
    await controller.checkNow();
    expect(source.current()).not.toEqual(controller.current()); // not before its reload
    await source.reloadNow();
    expect(source.current()).toEqual(controller.current());
    expect(applied).toEqual([controller.current()]);

    await source.reloadNow(); // the same pair again: no change to announce
    expect(applied).toHaveLength(1);
  });

  test('its reload timer picks up a new pair without being asked', async () => {
    const c = cluster();
    c.store.put(usableSecret(c.clock.now()));
    const { source } = reader(c, { reloadIntervalMs: 20 });
    await source.start();
    const next = usableSecret(c.clock.now());
    c.store.put(next);
    await until(() => source.current().cert === next['tls.crt'], 'the reload tick');
  });

  test('a broken or deleted Secret: the last good pair keeps serving, warned about once, until the keeper repairs it', async () => {
    const c = cluster();
    const good = usableSecret(c.clock.now());
    c.store.put(good);
    const { log, lines } = capturingLog();
    const { source } = reader(c, { log });
    await source.start();
    const served = source.current();
    const warnings = (): string[] => lines.filter((l) => l.level >= WARN).map((l) => l.msg);

    c.store.put({ ...good, 'tls.crt': '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n' });
    await source.reloadNow();
    await source.reloadNow();
    expect(source.current()).toEqual(served);
    expect(source.healthy()).toBeUndefined();
    expect(warnings()).toEqual([expect.stringMatching(/^TLS Secret unusable \(tls\.crt is not a PEM certificate.*\); serving the last good certificate until the controller repairs it$/)]);

    c.store.delete();
    await source.reloadNow();
    expect(source.current()).toEqual(served);
    expect(warnings()[1]).toBe('TLS Secret not found; serving the last good certificate until the controller repairs it');

    const repaired = usableSecret(c.clock.now());
    c.store.put(repaired);
    await source.reloadNow();
    expect(source.current().cert).toBe(repaired['tls.crt']);
    expect(lines.some((l) => l.msg === 'TLS Secret usable again')).toBe(true);
  });

  test('an unreadable Secret keeps the current pair', async () => {
    const c = cluster();
    c.store.put(usableSecret(c.clock.now()));
    const { source } = reader(c);
    await source.start();
    const served = source.current();
    c.store.failingGets = 1;
    await expect(source.reloadNow()).rejects.toThrow(/ECONNREFUSED/);
    expect(source.current()).toEqual(served);
    expect(source.healthy()).toBeUndefined();
  });

  test('not ready once the served certificate expired (the keeper is not renewing it), naming who renews it', async () => {
    const c = cluster();
    c.store.put(usableSecret(c.clock.now()));
    const { source } = reader(c);
    await source.start();
    c.clock.advance(91 * DAY);
    await source.reloadNow(); // the Secret's pair expired too: unusable, the old one stays
    expect(source.healthy()).toMatch(/^serving certificate expired at 2030-04-01T00:00:00\.000Z; the controller role renews TLS Secret test-ns\/wutong-backup-tls$/);
  });
});

describe('reads only', () => {
  test('never touches the store beyond get(), and is given no caBundle port: only the keeper writes the Secret and the webhook configuration', async () => {
    const c = cluster();
    const controller = keeper(c, { certValidityMs: 90 * DAY });
    // Missing, then created, broken, deleted, renewed: everything a reader meets, none of it written by the reader.
    const { source, forbidden } = reader(c);
    const starting = source.start();
    await until(() => source.healthy()?.startsWith('waiting') === true, 'the first attempt');
    await controller.start();
    await starting;
    controller.stop();
    const writes = c.store.writes;
    const bundles = c.webhook.history.length;

    const good = c.store.peek() ?? {};
    c.store.put({ ...good, 'ca.key': 'garbage' });
    await source.reloadNow();
    c.store.delete();
    await source.reloadNow();
    c.store.put(good);
    c.webhook.bundle = ''; // someone emptied caBundle: the reader is not the one to restore it
    await source.reloadNow();

    expect(forbidden).toEqual([]);
    expect(c.store.writes).toBe(writes);
    expect(c.webhook.history).toHaveLength(bundles);
    expect(c.webhook.bundle).toBe('');
    expect(SecretCertificateReader.length).toBe(2); // (store, options): no webhook configuration to write to
  });
});

describe('what the reader relies on: the keeper publishes a CA before it commits a pair signed by it', () => {
  test('through a whole CA rotation, the pair a reader serves is trusted by caBundle before and after each of its reloads', async () => {
    const c = cluster();
    // CA due at day 20 (a third of 30 days left); serving certificate not due for months.
    const controller = keeper(c, { caValidityMs: 30 * DAY, certValidityMs: 365 * DAY, overlapMs: DAY });
    await controller.start();
    const { source } = reader(c);
    await source.start();
    const firstCa = c.store.peek()?.['ca.crt'];
    const trusted = (): boolean => trustedBy(c.webhook.bundle ?? '', source.current().cert);

    // The worst moment for a reader: it reloads right after the keeper's write, before the keeper goes on to publish.
    let readBetween = 0;
    c.store.afterWrite = async () => {
      await source.reloadNow();
      expect(trusted()).toBe(true);
      readBetween++;
    };
    const issuers = new Set<string>();
    // Step by step: the keeper writes, the reader has not reloaded yet, then it has.
    for (const advance of [20 * DAY + 60_000, DAY / 2, DAY / 2, DAY / 2, DAY / 2, DAY]) {
      c.clock.advance(advance);
      // Someone re-applied the configuration: caBundle holds only the CA the served pair needs. The keeper
      // must put a new CA back before it commits a pair of it (trustFirst), or the read in between fails.
      c.webhook.bundle = issuerOf(source.current());
      await controller.checkNow();
      expect(trusted()).toBe(true);
      await source.reloadNow();
      expect(trusted()).toBe(true);
      expect(source.current()).toEqual(controller.current());
      issuers.add(source.current().ca);
    }
    // It did rotate: the reader now serves a pair of a new CA, and caBundle holds only that CA.
    expect(c.store.peek()?.['ca.crt']).not.toBe(firstCa);
    expect(c.store.peek()?.['ca-previous.crt']).toBeUndefined();
    expect(c.webhook.bundle).toBe(c.store.peek()?.['ca.crt']);
    expect(issuers.size).toBeGreaterThan(1);
    expect(readBetween).toBe(3); // start the rotation, switch the serving pair, drop the old CA
  });
});
