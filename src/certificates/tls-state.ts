import {
  CertificateProblem,
  hostsNotCovered,
  isExpired,
  isSignedBy,
  parseCertificate,
  parseKeyPair,
  type ParsedCertificate,
} from './inspect-certificates.js';
import { SECRET_KEYS, type TlsSecretData } from './cluster-interfaces.js';

/** A CA the webhook can sign with. */
export interface SigningCa {
  cert: ParsedCertificate;
  key: string;
}

export interface ServingPair {
  cert: ParsedCertificate;
  key: string;
}

/**
 * What the Secret holds once validated: the signing CA, the CA being retired
 * during a rotation, and the serving pair (signed by one of the two).
 */
export interface TlsState {
  ca: SigningCa;
  previousCa?: ParsedCertificate;
  serving: ServingPair;
}

export type SecretInspection =
  | { usable: true; state: TlsState }
  /** The CA itself is unusable: everything must be regenerated. */
  | { usable: false; problem: CertificateProblem; ca?: undefined }
  /** The CA is fine but the serving pair is not: reissue it with this CA. */
  | { usable: false; problem: CertificateProblem; ca: SigningCa; previousCa?: ParsedCertificate };

/**
 * Validates Secret data against what the webhook needs: a CA with its key,
 * a serving certificate with its key, signed by that CA (or by the previous
 * CA during a rotation), unexpired, covering every host.
 */
export function inspectSecretData(data: TlsSecretData | undefined, hosts: readonly string[], now: Date): SecretInspection {
  const d = data ?? {};
  let ca: SigningCa;
  try {
    ca = { cert: parseKeyPair(d[SECRET_KEYS.ca], d[SECRET_KEYS.caKey], { cert: SECRET_KEYS.ca, key: SECRET_KEYS.caKey }), key: d[SECRET_KEYS.caKey] ?? '' };
    if (!ca.cert.x509.ca) throw new CertificateProblem('not-a-ca', `${SECRET_KEYS.ca} is not a CA certificate (basicConstraints cA is not true)`);
    if (isExpired(ca.cert, now)) throw new CertificateProblem('expired', `${SECRET_KEYS.ca} expired at ${ca.cert.notAfter.toISOString()}`);
  } catch (err) {
    return { usable: false, problem: asProblem(err) };
  }

  let previousCa: ParsedCertificate | undefined;
  const previousPem = d[SECRET_KEYS.previousCa];
  if (previousPem !== undefined && previousPem.trim() !== '') {
    try {
      previousCa = parseCertificate(previousPem, SECRET_KEYS.previousCa);
    } catch (err) {
      // Only the serving pair depends on it; reissuing under the current CA drops it.
      return { usable: false, problem: asProblem(err), ca };
    }
  }

  try {
    const cert = parseKeyPair(d[SECRET_KEYS.cert], d[SECRET_KEYS.key], { cert: SECRET_KEYS.cert, key: SECRET_KEYS.key });
    if (!isSignedBy(cert, ca.cert) && !(previousCa && isSignedBy(cert, previousCa))) {
      throw new CertificateProblem('wrong-issuer', `${SECRET_KEYS.cert} is not signed by the CA in ${SECRET_KEYS.ca}`);
    }
    if (isExpired(cert, now)) throw new CertificateProblem('expired', `${SECRET_KEYS.cert} expired at ${cert.notAfter.toISOString()}`);
    const missing = hostsNotCovered(cert, hosts);
    if (missing.length > 0) throw new CertificateProblem('missing-san', `${SECRET_KEYS.cert} does not cover ${missing.join(', ')}`);
    return { usable: true, state: { ca, ...(previousCa ? { previousCa } : {}), serving: { cert, key: d[SECRET_KEYS.key] ?? '' } } };
  } catch (err) {
    return { usable: false, problem: asProblem(err), ca, ...(previousCa ? { previousCa } : {}) };
  }
}

function asProblem(err: unknown): CertificateProblem {
  return err instanceof CertificateProblem ? err : new CertificateProblem('corrupt', (err as Error).message);
}

/** The caBundle clients must trust: the current CA, plus the retiring one during a rotation. */
export function caBundlePem(state: Pick<TlsState, 'ca' | 'previousCa'>): string {
  return [state.ca.cert.pem, state.previousCa?.pem].filter((pem): pem is string => pem !== undefined).map(withNewline).join('');
}

export function secretDataOf(state: TlsState): TlsSecretData {
  return {
    [SECRET_KEYS.cert]: state.serving.cert.pem,
    [SECRET_KEYS.key]: state.serving.key,
    [SECRET_KEYS.ca]: state.ca.cert.pem,
    [SECRET_KEYS.caKey]: state.ca.key,
    ...(state.previousCa ? { [SECRET_KEYS.previousCa]: state.previousCa.pem } : {}),
  };
}

export function withNewline(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}
