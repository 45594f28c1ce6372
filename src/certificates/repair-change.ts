import type { CertificateIssuer } from './certificate-issuer.js';
import type { StoredTlsSecret } from './cluster-interfaces.js';
import { isExpired, type ParsedCertificate, type RegenerationReason } from './inspect-certificates.js';
import type { SecretChange } from './secret-change.js';
import type { SecretInspection } from './tls-state.js';

/**
 * What to write when the Secret is absent (bootstrap) or unusable: a new
 * serving pair under the stored CA when that CA is fine, otherwise a new CA.
 * `servingCa` is the CA this replica serves from now, if any: it stays trusted
 * as the previous CA so replicas still on the old pair are not cut off until
 * they reload; it is dropped after the overlap.
 */
export function repairChange(
  inspection: Extract<SecretInspection, { usable: false }>,
  stored: StoredTlsSecret | undefined,
  servingCa: ParsedCertificate | undefined,
  issuer: CertificateIssuer,
  secretDescription: string,
  now: Date,
): SecretChange {
  const reason: RegenerationReason = stored ? inspection.problem.reason : 'absent';
  const detail = stored ? inspection.problem.message : `Secret ${secretDescription} does not exist`;
  if (inspection.ca) {
    const previousCa = inspection.previousCa && !isExpired(inspection.previousCa, now) ? inspection.previousCa : undefined;
    return {
      state: { ca: inspection.ca, ...(previousCa ? { previousCa } : {}), serving: issuer.issueServing(inspection.ca) },
      reason,
      trustFirst: false,
      message: 'issued a new serving certificate with the existing CA',
      detail,
    };
  }
  const ca = issuer.issueCa();
  const previousCa = servingCa && !isExpired(servingCa, now) ? servingCa : undefined;
  return {
    state: { ca, ...(previousCa ? { previousCa } : {}), serving: issuer.issueServing(ca) },
    reason,
    trustFirst: false,
    message: stored ? 'generated a new CA and serving certificate' : 'created the TLS Secret with a new CA and serving certificate',
    detail,
  };
}
