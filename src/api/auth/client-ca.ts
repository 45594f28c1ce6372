import { readFileSync } from 'node:fs';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { pemBlocks } from '../../certificates/ca-bundle-policy.js';
import { parseCertificate } from '../../certificates/inspect-certificates.js';
import { errorMessage } from '../../error-message.js';

/** TLS server options for the API port when client certificates from API_CLIENT_CA are accepted. */
export interface ClientCaTlsOptions {
  /** The CA bundle (PEM) the TLS layer verifies client certificates against. */
  ca: string;
  /** Ask every client for a certificate... */
  requestCert: true;
  /**
   * ...but let a client without one (or with one this CA did not sign)
   * finish the handshake: bearer-token clients must still connect, and a bad
   * certificate is then simply not an identity (socket.authorized is false).
   */
  rejectUnauthorized: false;
}

/**
 * Reads the PEM bundle at `path` (API_CLIENT_CA) and checks that each
 * certificate in it parses, so a wrong path or a wrong file stops start-up
 * with a message naming the file instead of silently refusing every client
 * certificate later.
 *
 * Keep `ca` in every secure context of the server: `setSecureContext()` on a
 * serving-certificate rotation replaces the whole context, CA included.
 */
export function loadClientCa(path: string): ClientCaTlsOptions {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`API_CLIENT_CA ${path}: cannot read the client CA file: ${errorMessage(err)}`);
  }
  const blocks = pemBlocks(text);
  if (blocks.length === 0) throw new Error(`API_CLIENT_CA ${path}: no PEM certificate ("-----BEGIN CERTIFICATE-----") in the file`);
  blocks.forEach((block, index) => parseCertificate(block, `API_CLIENT_CA ${path}: certificate ${index + 1} of ${blocks.length}`));
  return { ca: blocks.join('\n') + '\n', requestCert: true, rejectUnauthorized: false };
}

/**
 * The client's certificate, only when the TLS layer verified it against the
 * configured CA (chain, validity period, and OpenSSL's client purpose, which
 * refuses a certificate whose extended key usage excludes clientAuth).
 * Anything else, no certificate or an unverified one, is undefined: an
 * unverified certificate's subject is whatever its maker typed.
 */
export function verifiedPeerCertificate(socket: Pick<TLSSocket, 'authorized' | 'getPeerCertificate'>): PeerCertificate | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  // getPeerCertificate() answers {} when the client sent none.
  return cert && Object.keys(cert).length > 0 ? cert : undefined;
}
