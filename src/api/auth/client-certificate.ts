import type { PeerCertificate } from 'node:tls';
import type { Identity } from './identity.js';

/**
 * The identity a verified client certificate names, read the way
 * kube-apiserver's x509 authenticator reads it (`CommonNameUserConversion`):
 * the subject's Common Name is the username and each Organization is a group,
 * in order. With several CNs Go keeps the last one, and so does this. A
 * certificate without a CN names nobody: the username is then '' and access
 * control refuses it (or falls back to a bearer token) rather than asking RBAC
 * about an empty user.
 */
export function identityFromCertificate(cert: PeerCertificate): Identity {
  const subject = (cert.subject as PeerCertificate['subject'] | undefined) ?? {};
  const commonNames = values(subject.CN);
  return { username: commonNames[commonNames.length - 1] ?? '', groups: values(subject.O), via: 'client-certificate' };
}

/** Node gives a subject field as a string, or as an array when the certificate repeats it. */
function values(field: string | string[] | undefined): string[] {
  if (field === undefined) return [];
  return (Array.isArray(field) ? field : [field]).filter((v) => v !== '');
}
