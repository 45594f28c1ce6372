import { fingerprint, isExpired, parseCertificate, type ParsedCertificate } from './inspect-certificates.js';
import { caBundlePem, withNewline, type TlsState } from './tls-state.js';

/**
 * The caBundle a webhook entry should carry, given what it carries now and
 * the CAs committed in the Secret. Merged, not replaced, because replicas
 * publish concurrently and any one of them may have read the Secret a moment
 * before another replica committed a newer CA:
 *   - the committed CAs (current, and the retiring one during a rotation) are always in;
 *   - our own CAs (common name "<prefix>@<seconds>") issued after the committed
 *     CA stay: someone committed them after we read, and replicas may serve from them;
 *   - our own older CAs go: they were retired (rotation finished, Secret repaired);
 *   - anything else someone put there stays, unless it expired or is unreadable.
 * Committed CAs come first so the result is stable whatever order others wrote.
 */
export function mergedCaBundle(currentPem: string, committed: Pick<TlsState, 'ca' | 'previousCa'>, now: Date, ownCaPrefix: string): string {
  const included = new Set([committed.ca.cert, committed.previousCa].filter((c): c is ParsedCertificate => c !== undefined).map(fingerprint));
  const kept = pemBlocks(currentPem).flatMap((pem) => {
    const cert = parsed(pem);
    if (!cert || isExpired(cert, now) || included.has(fingerprint(cert))) return [];
    if (isOwnCa(cert, ownCaPrefix) && cert.issuedAt.getTime() <= committed.ca.cert.issuedAt.getTime()) return [];
    included.add(fingerprint(cert));
    return [withNewline(cert.pem)];
  });
  return caBundlePem(committed) + kept.join('');
}

function isOwnCa(cert: ParsedCertificate, prefix: string): boolean {
  return cert.x509.subject.split('\n').some((part) => part.startsWith(`CN=${prefix}@`));
}

/** Each PEM certificate block of a bundle, in order. */
export function pemBlocks(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function parsed(pem: string): ParsedCertificate | undefined {
  try {
    return parseCertificate(pem, 'caBundle entry');
  } catch {
    return undefined;
  }
}

