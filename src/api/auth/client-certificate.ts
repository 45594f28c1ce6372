import type { PeerCertificate } from 'node:tls';
import type { Identity } from './identity.js';

/**
 * Put before a certificate's CN and O values (API_CLIENT_CERT_USER_PREFIX and
 * API_CLIENT_CERT_GROUP_PREFIX). A certificate's subject is whatever the
 * issuing CA wrote, and that CA is not the cluster's: the prefix keeps its
 * names apart from the users and groups the cluster's own authenticators hand
 * out, as kube-apiserver's --oidc-username-prefix does for OIDC tokens.
 */
export const DEFAULT_CLIENT_CERT_PREFIX = 'wutong-backup-client:';

export interface CertificatePrefixes {
  user: string;
  group: string;
}

// Kubernetes reserves the system: prefix for its own users and groups
// (system:masters, system:nodes, system:serviceaccount:…); RBAC binds
// cluster-admin to system:masters. No certificate from API_CLIENT_CA may
// reach one, whatever prefix is configured.
const RESERVED = 'system:';

export type CertificateIdentity =
  | {
      identity: Identity;
      /** O values left out because they would be system: groups (logged, never granted). */
      droppedGroups: string[];
    }
  | { problem: string };

/**
 * The identity a verified client certificate names, read the way
 * kube-apiserver's x509 authenticator reads it (`CommonNameUserConversion`)
 * and then prefixed: the subject's Common Name is the username and each
 * Organization is a group, in order. With several CNs Go keeps the last one,
 * and so does this. A certificate without a CN, or whose CN would make a
 * system: user, names nobody (access control then refuses it, or falls back
 * to a bearer token); an O that would make a system: group is dropped.
 */
export function identityFromCertificate(cert: PeerCertificate, prefixes: CertificatePrefixes = { user: DEFAULT_CLIENT_CERT_PREFIX, group: DEFAULT_CLIENT_CERT_PREFIX }): CertificateIdentity {
  const subject = (cert.subject as PeerCertificate['subject'] | undefined) ?? {};
  const commonName = values(subject.CN).at(-1);
  if (commonName === undefined) return { problem: 'the client certificate has no Common Name (CN), so it names no user' };
  const username = prefixes.user + commonName;
  if (username.startsWith(RESERVED)) {
    return { problem: `the client certificate's Common Name would make the user "${username}": a certificate may never name a ${RESERVED} user` };
  }
  const groups = values(subject.O).map((organization) => prefixes.group + organization);
  return {
    identity: { username, groups: groups.filter((group) => !group.startsWith(RESERVED)), via: 'client-certificate' },
    droppedGroups: groups.filter((group) => group.startsWith(RESERVED)),
  };
}

/** Node gives a subject field as a string, or as an array when the certificate repeats it. */
function values(field: string | string[] | undefined): string[] {
  if (field === undefined) return [];
  return (Array.isArray(field) ? field : [field]).filter((v) => v !== '');
}
