import { parseCertificate } from './inspect-certificates.js';
import { caCommonName, issueCa, issueServingCertificate } from './issue-certificates.js';
import type { ServingPair, SigningCa } from './tls-state.js';

export interface IssuerOptions {
  /** Every name the serving certificate must cover (Service DNS names, IPs). */
  hosts: readonly string[];
  caValidityMs: number;
  certValidityMs: number;
  /** Common-name prefix of generated CAs; each gets "@<unix seconds>" appended. */
  caNamePrefix: string;
}

/**
 * Issues the CAs and serving pairs the Secret holds, at the clock's time of
 * issuance rather than the start of a check: the rotation overlap counts from
 * issuance, and a slow check must not eat into it.
 */
export class CertificateIssuer {
  constructor(
    private readonly options: IssuerOptions,
    private readonly clock: () => Date,
  ) {}

  get caNamePrefix(): string {
    return this.options.caNamePrefix;
  }

  issueCa(): SigningCa {
    const now = this.clock();
    const pair = issueCa(caCommonName(this.options.caNamePrefix, now), { validityMs: this.options.caValidityMs, now });
    return { cert: parseCertificate(pair.cert, 'new CA'), key: pair.key };
  }

  issueServing(ca: SigningCa): ServingPair {
    const now = this.clock();
    const pair = issueServingCertificate({ cert: ca.cert.pem, key: ca.key }, this.options.hosts, { validityMs: this.options.certValidityMs, now });
    return { cert: parseCertificate(pair.cert, 'new serving certificate'), key: pair.key };
  }
}
