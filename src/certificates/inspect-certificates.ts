import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { BACKDATE_MS } from './issue-certificates.js';

/**
 * Why a certificate or CA was (re)generated; the `reason` label of the
 * certificateRegenerations metric.
 */
export type RegenerationReason =
  | 'absent'
  | 'corrupt'
  | 'key-mismatch'
  | 'not-a-ca'
  | 'wrong-issuer'
  | 'expired'
  | 'missing-san'
  | 'renewal'
  | 'ca-rotation';

/** A certificate or key that cannot be used, with the reason it will be replaced. */
export class CertificateProblem extends Error {
  constructor(
    readonly reason: RegenerationReason,
    message: string,
  ) {
    super(message);
    this.name = 'CertificateProblem';
  }
}

export interface ParsedCertificate {
  pem: string;
  x509: X509Certificate;
  notBefore: Date;
  notAfter: Date;
  /** When it was issued: notBefore without the backdating. */
  issuedAt: Date;
}

/** Parses one PEM certificate (the first, if several); `what` names it in errors, e.g. "tls.crt". */
export function parseCertificate(pem: string | undefined, what: string): ParsedCertificate {
  if (pem === undefined || pem.trim() === '') throw new CertificateProblem('absent', `${what} is missing`);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pem);
  } catch (err) {
    throw new CertificateProblem('corrupt', `${what} is not a PEM certificate (${(err as Error).message})`);
  }
  const notBefore = new Date(x509.validFrom);
  const notAfter = new Date(x509.validTo);
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
    throw new CertificateProblem('corrupt', `${what} has unreadable validity dates`);
  }
  const issuedAt = new Date(Math.min(notBefore.getTime() + BACKDATE_MS, notAfter.getTime()));
  return { pem, x509, notBefore, notAfter, issuedAt };
}

export function parsePrivateKey(pem: string | undefined, what: string): KeyObject {
  if (pem === undefined || pem.trim() === '') throw new CertificateProblem('absent', `${what} is missing`);
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new CertificateProblem('corrupt', `${what} is not a PEM private key (${(err as Error).message})`);
  }
}

/** A certificate and the key it was issued for; throws CertificateProblem otherwise. */
export function parseKeyPair(certPem: string | undefined, keyPem: string | undefined, names: { cert: string; key: string }): ParsedCertificate {
  const cert = parseCertificate(certPem, names.cert);
  const key = parsePrivateKey(keyPem, names.key);
  if (!cert.x509.checkPrivateKey(key)) {
    throw new CertificateProblem('key-mismatch', `${names.key} does not belong to the certificate in ${names.cert}`);
  }
  return cert;
}

export function isExpired(cert: ParsedCertificate, now: Date): boolean {
  return now.getTime() >= cert.notAfter.getTime();
}

/** True when `cert` was signed by `ca` (issuer name and signature both match). */
export function isSignedBy(cert: ParsedCertificate, ca: ParsedCertificate): boolean {
  return cert.x509.checkIssued(ca.x509) && cert.x509.verify(ca.x509.publicKey);
}

/**
 * The hosts the certificate's SANs do not cover. The Common Name is never
 * consulted: Go verifiers (the API server) ignore it.
 */
export function hostsNotCovered(cert: ParsedCertificate, hosts: readonly string[]): string[] {
  return hosts.filter((host) =>
    isIP(host) !== 0 ? cert.x509.checkIP(host) === undefined : cert.x509.checkHost(host, { subject: 'never', wildcards: false }) === undefined,
  );
}

/**
 * The moment a certificate is due for renewal: when a third of its lifetime
 * (issuance to notAfter) remains. Lifetime counts from issuance, not from the
 * backdated notBefore, or a 30 s certificate would look an hour long and be
 * renewed on every check.
 */
export function renewalTime(cert: ParsedCertificate): Date {
  const lifetime = Math.max(0, cert.notAfter.getTime() - cert.issuedAt.getTime());
  return new Date(cert.notAfter.getTime() - lifetime / 3);
}

export function lifetimeMs(cert: ParsedCertificate): number {
  return Math.max(0, cert.notAfter.getTime() - cert.issuedAt.getTime());
}

/** sha256 fingerprint, for logs: identifies a certificate without printing it. */
export function fingerprint(cert: ParsedCertificate): string {
  return cert.x509.fingerprint256;
}
