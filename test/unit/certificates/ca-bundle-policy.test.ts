import { jest } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { mergedCaBundle } from '../../../src/certificates/ca-bundle-policy.js';
import { parseCertificate } from '../../../src/certificates/inspect-certificates.js';
import { caCommonName, issueCa } from '../../../src/certificates/issue-certificates.js';
import type { TlsState } from '../../../src/certificates/tls-state.js';
import { certificatesIn } from './pem.js';

jest.setTimeout(60_000);

const DAY = 86_400_000;
const PREFIX = 'wutong-backup-ca';
const t0 = new Date('2030-01-01T00:00:00Z');
const at = (days: number): Date => new Date(t0.getTime() + days * DAY);

/** One of our CAs, issued `issuedDays` after t0. */
const ownCa = (issuedDays: number, validityDays = 365): string => issueCa(caCommonName(PREFIX, at(issuedDays)), { validityMs: validityDays * DAY, now: at(issuedDays) }).cert;
const committed = (caPem: string, previousPem?: string): Pick<TlsState, 'ca' | 'previousCa'> => ({
  ca: { cert: parseCertificate(caPem, 'ca'), key: '' },
  ...(previousPem ? { previousCa: parseCertificate(previousPem, 'previous') } : {}),
});
const fingerprints = (bundle: string): string[] => certificatesIn(bundle).map((c) => c.fingerprint256);
const fp = (pem: string): string => new X509Certificate(pem).fingerprint256;

const caA = ownCa(0);
const caB = ownCa(10);
const caC = ownCa(20);
const foreign = issueCa('corporate-root', { validityMs: 3650 * DAY, now: t0 }).cert;
const expiredForeign = issueCa('old-root', { validityMs: DAY, now: t0 }).cert;

test('an empty or missing bundle gets exactly the committed CAs, current first', () => {
  expect(fingerprints(mergedCaBundle('', committed(caB, caA), at(15), PREFIX))).toEqual([fp(caB), fp(caA)]);
  expect(fingerprints(mergedCaBundle('', committed(caB), at(15), PREFIX))).toEqual([fp(caB)]);
});

test('idempotent: merging into its own result changes nothing', () => {
  const once = mergedCaBundle(foreign + caA, committed(caB, caA), at(15), PREFIX);
  expect(mergedCaBundle(once, committed(caB, caA), at(15), PREFIX)).toBe(once);
});

test('a CA someone else put there stays; an expired or unreadable one goes', () => {
  const current = `${foreign}${expiredForeign}-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n`;
  expect(fingerprints(mergedCaBundle(current, committed(caB), at(15), PREFIX))).toEqual([fp(caB), fp(foreign)]);
});

test('a replica that read the Secret before another committed a newer CA keeps that newer CA (it may already be served)', () => {
  // The bundle already holds C (committed by another replica after this one read B).
  expect(fingerprints(mergedCaBundle(caC + caB, committed(caB), at(25), PREFIX))).toEqual([fp(caB), fp(caC)]);
});

test('our own CAs older than the committed one are retired: the rotation\'s last step and a repaired Secret drop them', () => {
  expect(fingerprints(mergedCaBundle(caC + caB + caA, committed(caC), at(25), PREFIX))).toEqual([fp(caC)]);
});
