import { jest } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { followCertificateSource } from '../../../src/certificates/certificate-source.js';
import { FileCertificateSource } from '../../../src/certificates/file-certificate-source.js';
import { issueCa, issueServingCertificate } from '../../../src/certificates/issue-certificates.js';
import { generateDevelopmentTls } from '../../../src/certificates/tls-files.js';
import { certificateRegenerations } from '../../../src/observability/metrics.js';

jest.setTimeout(60_000);

const log = pino({ level: 'silent' });
let dir: string;
let source: FileCertificateSource | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'file-tls-'));
});
afterEach(() => {
  source?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function start(generateMissingFor?: string[]): Promise<void> {
  source = new FileCertificateSource({ dir, reloadIntervalMs: 60_000, log, ...(generateMissingFor ? { generateMissingFor } : {}) });
  return source.start();
}

test('development: missing files are generated for localhost and 127.0.0.1, and counted', async () => {
  const before = (await certificateRegenerations.get()).values.find((v) => v.labels.reason === 'absent')?.value ?? 0;
  await start(['localhost', '127.0.0.1']);
  for (const file of ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']) expect(existsSync(join(dir, file))).toBe(true);
  const cert = new X509Certificate(readFileSync(join(dir, 'tls.crt')));
  expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
  expect(source?.current().cert).toBe(readFileSync(join(dir, 'tls.crt'), 'utf8'));
  expect(source?.healthy()).toBeUndefined();
  const after = (await certificateRegenerations.get()).values.find((v) => v.labels.reason === 'absent')?.value ?? 0;
  expect(after).toBe(before + 1);
});

test('files mode: missing files are an error naming them, not generated', async () => {
  await expect(start()).rejects.toThrow(`TLS files missing: expected ${join(dir, 'tls.crt')} and ${join(dir, 'tls.key')}`);
  expect(existsSync(join(dir, 'tls.crt'))).toBe(false);
});

test('files mode: a key that does not match the certificate is refused at start', async () => {
  generateDevelopmentTls(dir);
  const other = issueServingCertificate(issueCa('x', { validityMs: 86_400_000 }), ['localhost'], { validityMs: 86_400_000 });
  writeFileSync(join(dir, 'tls.key'), other.key);
  await expect(start()).rejects.toThrow(/tls\.key does not belong to the certificate in tls\.crt/);
});

test('renewed files are picked up and handed to the server; broken ones are ignored until fixed', async () => {
  generateDevelopmentTls(dir);
  await start();
  const applied: string[] = [];
  followCertificateSource(source!, (m) => applied.push(m.cert));
  const first = readFileSync(join(dir, 'tls.crt'), 'utf8');
  expect(applied).toEqual([first]);

  source!.reloadNow();
  expect(applied).toHaveLength(1);

  writeFileSync(join(dir, 'tls.crt'), 'not a certificate');
  source!.reloadNow();
  expect(applied).toHaveLength(1);
  expect(source!.current().cert).toBe(first);

  generateDevelopmentTls(dir); // what cert-manager's renewal looks like from inside the pod
  source!.reloadNow();
  const renewed = readFileSync(join(dir, 'tls.crt'), 'utf8');
  expect(renewed).not.toBe(first);
  expect(applied).toEqual([first, renewed]);
  expect(source!.current().ca).toBe(readFileSync(join(dir, 'ca.crt'), 'utf8'));
});

test('an expired certificate is served but reported as not ready', async () => {
  const now = new Date();
  const ca = issueCa('old', { validityMs: 10 * 86_400_000, now: new Date(now.getTime() - 5 * 86_400_000) });
  const pair = issueServingCertificate(ca, ['localhost'], { validityMs: 86_400_000, now: new Date(now.getTime() - 5 * 86_400_000) });
  writeFileSync(join(dir, 'tls.crt'), pair.cert);
  writeFileSync(join(dir, 'tls.key'), pair.key);
  await start();
  expect(source?.healthy()).toMatch(/expired at .*; renew the files/);
});
