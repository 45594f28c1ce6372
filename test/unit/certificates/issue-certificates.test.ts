import { jest } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { caCommonName, DAY_MS, issueCa, issueServingCertificate, serviceHosts } from '../../../src/certificates/issue-certificates.js';

// RSA key generation is slow on a loaded CI machine; each test issues several keys.
jest.setTimeout(60_000);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = new Date('2030-03-01T12:00:00Z');
const HOSTS = [...serviceHosts('wutong-backup', 'wutong-system'), 'localhost', '127.0.0.1'];

const ca = issueCa(caCommonName('test-ca', NOW), { validityMs: 5 * 365 * DAY, now: NOW });
const serving = issueServingCertificate(ca, HOSTS, { validityMs: 365 * DAY, now: NOW });

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'issue-certs-'));
  writeFileSync(join(dir, 'ca.crt'), ca.cert);
  writeFileSync(join(dir, 'tls.crt'), serving.cert);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function opensslText(file: string): string {
  return execFileSync('openssl', ['x509', '-in', join(dir, file), '-text', '-noout'], { encoding: 'utf8' });
}

describe('serving certificate', () => {
  const x509 = new X509Certificate(serving.cert);

  test('covers the four Service names and the local names as SANs', () => {
    expect(x509.subjectAltName?.split(', ')).toEqual([
      'DNS:wutong-backup',
      'DNS:wutong-backup.wutong-system',
      'DNS:wutong-backup.wutong-system.svc',
      'DNS:wutong-backup.wutong-system.svc.cluster.local',
      'DNS:localhost',
      'IP Address:127.0.0.1',
    ]);
  });

  test('matches every host through the SANs alone, never the Common Name', () => {
    for (const host of HOSTS.filter((h) => h !== '127.0.0.1')) {
      expect(x509.checkHost(host, { subject: 'never', wildcards: false })).toBe(host);
    }
    expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x509.checkHost('other.wutong-system.svc', { subject: 'never' })).toBeUndefined();
  });

  test('is valid from an hour before issuance for the requested lifetime', () => {
    expect(new Date(x509.validFrom)).toEqual(new Date(NOW.getTime() - HOUR));
    expect(new Date(x509.validTo)).toEqual(new Date(NOW.getTime() + 365 * DAY));
  });

  test('is a leaf for server authentication only', () => {
    expect(x509.ca).toBe(false);
    expect(x509.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    const text = opensslText('tls.crt');
    // ECDSA: signatures only (keyEncipherment belongs to RSA key exchange).
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    expect(text).toMatch(/X509v3 Extended Key Usage:\s+TLS Web Server Authentication\n/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/DNS:wutong-backup\.wutong-system\.svc\.cluster\.local/);
  });

  test('has an ECDSA P-256 key (cheap handshakes), signed by the RSA CA, with its own subject key identifier', () => {
    const text = opensslText('tls.crt');
    expect(text).toMatch(/Public Key Algorithm: id-ecPublicKey/);
    expect(text).toMatch(/NIST CURVE: P-256/);
    expect(text).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    expect(x509.publicKey.asymmetricKeyType).toBe('ec');
    const ski = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(text)?.[1];
    const aki = /Authority Key Identifier:\s+(?:keyid:)?([0-9A-F:]+)/.exec(text)?.[1];
    expect(ski).toBeDefined();
    expect(ski).not.toBe(aki);
  });

  test('passes openssl verify against its CA, and fails against another CA', () => {
    // -attime: the certificates are issued for a fixed "now" in the future.
    const at = ['-attime', String(NOW.getTime() / 1000)];
    expect(execFileSync('openssl', ['verify', ...at, '-CAfile', join(dir, 'ca.crt'), join(dir, 'tls.crt')], { encoding: 'utf8' })).toBe(
      `${join(dir, 'tls.crt')}: OK\n`,
    );
    const stranger = issueCa('stranger', { validityMs: DAY, now: NOW });
    writeFileSync(join(dir, 'stranger.crt'), stranger.cert);
    const result = spawnSync('openssl', ['verify', ...at, '-CAfile', join(dir, 'stranger.crt'), join(dir, 'tls.crt')], { encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/unable to get local issuer certificate/);
  });

  test('gets a fresh serial each time, so a renewed certificate is told apart', () => {
    const again = issueServingCertificate(ca, HOSTS, { validityMs: DAY, now: NOW });
    expect(new X509Certificate(again.cert).serialNumber).not.toBe(x509.serialNumber);
  });

  test('refuses an empty host list and a non-positive lifetime', () => {
    expect(() => issueServingCertificate(ca, [], { validityMs: DAY })).toThrow('at least one host name');
    expect(() => issueServingCertificate(ca, HOSTS, { validityMs: 0 })).toThrow('validity must be positive');
  });
});

describe('CA', () => {
  const x509 = new X509Certificate(ca.cert);

  test('is a CA valid for the requested lifetime, backdated an hour', () => {
    expect(x509.ca).toBe(true);
    expect(new Date(x509.validFrom)).toEqual(new Date(NOW.getTime() - HOUR));
    expect(new Date(x509.validTo)).toEqual(new Date(NOW.getTime() + 5 * 365 * DAY));
    const text = opensslText('ca.crt');
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
  });

  test('has a name unique to its issuance time, so old and new CA differ during a rotation', () => {
    expect(x509.subject).toBe(`CN=test-ca@${NOW.getTime() / 1000}`);
  });
});

describe('name encoding that Go (the API server) accepts', () => {
  // Go's x509 rejects a certificate whose PrintableString holds a character
  // outside that type's alphabet; the API server then fails every call with
  // "x509: invalid RDNSequence: invalid attribute value: invalid PrintableString".
  const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

  function printableStrings(node: forge.asn1.Asn1, out: string[] = []): string[] {
    if (node.type === forge.asn1.Type.PRINTABLESTRING && typeof node.value === 'string') out.push(node.value);
    if (Array.isArray(node.value)) for (const child of node.value) printableStrings(child, out);
    return out;
  }

  test.each([
    ['a CA named like kube-apiserver names its CAs', () => issueCa(caCommonName('wutong-backup-ca'), { validityMs: DAY_MS }).cert],
    [
      'a serving certificate issued by it',
      () => {
        const ca = issueCa(caCommonName('wutong-backup-ca'), { validityMs: DAY_MS });
        return issueServingCertificate(ca, ['wutong_backup.local', '127.0.0.1'], { validityMs: DAY_MS }).cert;
      },
    ],
  ])('%s uses only valid PrintableString values', (_what, issue) => {
    const der = forge.pem.decode(issue())[0]!.body;
    const strings = printableStrings(forge.asn1.fromDer(der));
    for (const s of strings) expect(s).toMatch(PRINTABLE);
    const cert = new X509Certificate(issue());
    expect(cert.subject).toContain('CN=');
  });
});
