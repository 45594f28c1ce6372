import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

/** PEM-encoded certificate and its private key. */
export interface KeyPair {
  cert: string;
  key: string;
}

export interface CertificateOptions {
  /** How long the certificate is valid, counted from issuance (not from the backdated notBefore). */
  validityMs: number;
  /** Override "now", for tests of expiry and rotation. */
  now?: Date;
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** Default lifetimes: long-lived CA, yearly serving certificate. */
export const DEFAULT_CA_VALIDITY_MS = 5 * 365 * DAY_MS;
export const DEFAULT_CERT_VALIDITY_MS = 365 * DAY_MS;

/**
 * notBefore is set this far before issuance so a verifier whose clock lags
 * ours still accepts a fresh certificate. Exactly this amount, always: the
 * renewal logic recovers the issuance time as notBefore + BACKDATE_MS.
 */
export const BACKDATE_MS = HOUR_MS;

// node:crypto generates RSA keys natively in milliseconds; node-forge's pure-JS
// generator takes seconds. node-forge is still the right tool to build X.509.
function rsaKeys(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return {
    privateKey: forge.pki.privateKeyFromPem(privateKey),
    publicKey: forge.pki.publicKeyFromPem(publicKey),
    pem: privateKey,
  };
}

/**
 * The serving key is ECDSA P-256: the API server's HTTP/1.1 client abandons
 * many of the handshakes it starts (golang/go#59017), and each one costs this
 * single thread a private-key operation; a P-256 signature costs a fraction
 * of an RSA-2048 one (see README, Performance). Go's x509 and every TLS 1.2+
 * client accept it. The CA stays RSA, so bundles already published verify it.
 */
function servingKeys(): { spki: forge.asn1.Asn1; keyIdentifier: string; pem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const spki = forge.asn1.fromDer(forge.util.createBuffer(publicKey.toString('binary')));
  // RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING (its value without the unused-bits byte).
  const bitString = (spki.value as forge.asn1.Asn1[])[1]?.value as string;
  const keyIdentifier = forge.md.sha1.create().update(bitString.slice(1)).digest().getBytes();
  return { spki, keyIdentifier, pem: privateKey };
}

/** Random positive serial: a fixed serial makes rotated certificates indistinguishable to clients that cache by serial. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

function validity(cert: forge.pki.Certificate, options: CertificateOptions): void {
  if (!(options.validityMs > 0)) throw new Error(`certificate validity must be positive, got ${options.validityMs} ms`);
  const now = options.now?.getTime() ?? Date.now();
  cert.validity.notBefore = new Date(now - BACKDATE_MS);
  cert.validity.notAfter = new Date(now + options.validityMs);
}

/**
 * A self-signed CA. Give each CA a distinct common name (see caCommonName):
 * during a rotation the old and the new CA sit in one bundle, and verifiers
 * that pick the issuer by subject name must not confuse them.
 */
export function issueCa(commonName: string, options: CertificateOptions): KeyPair {
  const keys = rsaKeys();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, options);
  const subject = [commonNameAttribute(commonName)];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem };
}

/**
 * node-forge encodes names as PrintableString by default, which has no "@"
 * or "_": Go's x509 (the API server) then refuses the whole certificate
 * ("invalid PrintableString"). UTF8String is what Go and OpenSSL write.
 */
function commonNameAttribute(value: string): { name: string; value: string; valueTagClass: number } {
  return { name: 'commonName', value, valueTagClass: forge.asn1.Type.UTF8 };
}

/** "wutong-backup-ca@1764000000": unique per issuance, like kube-apiserver's own self-signed CAs. */
export function caCommonName(prefix: string, now: Date = new Date()): string {
  return `${prefix}@${Math.floor(now.getTime() / 1000)}`;
}

/**
 * A serving certificate for the given DNS names and IPs, signed by the CA.
 * The API server ignores the Common Name (Go >= 1.15): only the SANs count.
 */
export function issueServingCertificate(ca: KeyPair, hosts: readonly string[], options: CertificateOptions): KeyPair {
  if (hosts.length === 0) throw new Error('a serving certificate needs at least one host name');
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const keys = servingKeys();
  const cert = forge.pki.createCertificate();
  // node-forge encodes only RSA keys: it builds the TBSCertificate with the
  // CA's key as a stand-in, whose SubjectPublicKeyInfo is then swapped for
  // the P-256 one before the CA signs.
  cert.publicKey = caCert.publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, options);
  cert.setSubject([commonNameAttribute(hosts[0] ?? '')]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: hosts.map((host) => (isIP(host) !== 0 ? { type: 7, ip: host } : { type: 2, value: host })),
    },
    // Given as a value: forge would otherwise derive it from the stand-in key.
    {
      name: 'subjectKeyIdentifier',
      value: forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.OCTETSTRING, false, keys.keyIdentifier),
    },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.signatureOid = forge.pki.oids.sha256WithRSAEncryption ?? '1.2.840.113549.1.1.11';
  cert.siginfo.algorithmOid = cert.signatureOid;
  // getTBSCertificate is public in node-forge (lib/x509.js) but missing from its type declarations.
  const tbs = (forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
  const fields = tbs.value as forge.asn1.Asn1[];
  // TBSCertificate: [0] version, serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, [3] extensions
  fields[6] = keys.spki;
  const md = forge.md.sha256.create().update(forge.asn1.toDer(tbs).getBytes());
  cert.tbsCertificate = tbs;
  cert.signature = caKey.sign(md);
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem };
}

/** DNS names under which the API server reaches a Service. */
export function serviceHosts(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

/** Extra names for a webhook reached on this machine (development, or an API server calling it by URL). */
export const LOCAL_HOSTS: readonly string[] = ['localhost', '127.0.0.1'];
