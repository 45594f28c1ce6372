import type { Logger } from 'pino';
import type { ServedPair } from './certificate-source.js';
import { fingerprint } from './inspect-certificates.js';
import type { TlsMaterial } from './tls-files.js';
import { caBundlePem, type TlsState } from './tls-state.js';

/**
 * Serves the pair a TLS Secret holds, for the keeper and the reader alike:
 * the served pair changes (and its listeners hear of it, once) only when the
 * certificate or key differ from what is served now.
 */
export function serveTlsState(pair: ServedPair, state: TlsState, log: Logger): void {
  const material: TlsMaterial = { cert: state.serving.cert.pem, key: state.serving.key, ca: caBundlePem(state) };
  if (!pair.replace(material)) return;
  log.info(
    { fingerprint: fingerprint(state.serving.cert), notAfter: state.serving.cert.notAfter.toISOString(), issuer: state.serving.cert.x509.issuer },
    'serving certificate loaded',
  );
  pair.notify(material);
}
