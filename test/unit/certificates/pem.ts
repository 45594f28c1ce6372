import { X509Certificate } from 'node:crypto';

/** Every certificate in a PEM bundle. */
export function certificatesIn(bundle: string): X509Certificate[] {
  return (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem));
}

/** True when a verifier holding `bundle` accepts `certPem` (signed by one of its CAs). */
export function trustedBy(bundle: string, certPem: string): boolean {
  const cert = new X509Certificate(certPem);
  return certificatesIn(bundle).some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
}
