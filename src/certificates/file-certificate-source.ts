import { join } from 'node:path';
import type { Logger } from 'pino';
import { certificateRegenerations } from '../observability/metrics.js';
import { ServedPair, type CertificateSource } from './certificate-source.js';
import { fingerprint, isExpired, parseKeyPair, type ParsedCertificate } from './inspect-certificates.js';
import { generateDevelopmentTls, hasTlsFiles, readTlsDir, TLS_FILES, type TlsMaterial } from './tls-files.js';

export interface FileCertificateSourceOptions {
  /** Directory with tls.crt, tls.key and optionally ca.crt (a mounted Secret, e.g. from cert-manager). */
  dir: string;
  /** How often to compare the files' bytes with what is served. */
  reloadIntervalMs: number;
  /** Development only: when the files are missing, generate a CA and serving pair for these hosts. */
  generateMissingFor?: readonly string[];
  clock?: () => Date;
  log: Logger;
}

/**
 * Serving certificate from files someone else renews (cert-manager, your own
 * PKI). The files' bytes are polled: kubelet updates a mounted Secret by
 * swapping a symlink, which fs.watch misses but a read sees. A changed pair
 * that does not parse or whose key does not match is logged and ignored; the
 * last good pair keeps being served.
 */
export class FileCertificateSource implements CertificateSource {
  private served: ParsedCertificate | undefined;
  private lastSeen: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly pair: ServedPair;
  private readonly clock: () => Date;
  private readonly log: Logger;

  constructor(private readonly options: FileCertificateSourceOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.log = options.log.child({ component: 'tls', tlsDir: options.dir });
    this.pair = new ServedPair((err) => this.log.error({ err: (err as Error).message }, 'applying the new serving certificate failed'));
  }

  start(): Promise<void> {
    const { dir, generateMissingFor } = this.options;
    if (generateMissingFor && !hasTlsFiles(dir)) {
      generateDevelopmentTls(dir, generateMissingFor);
      certificateRegenerations.inc({ reason: 'absent' });
      this.log.warn({ hosts: generateMissingFor }, 'no TLS files found: generated a development CA and serving certificate');
    }
    if (!hasTlsFiles(dir)) {
      return Promise.reject(new Error(`TLS files missing: expected ${join(dir, TLS_FILES.cert)} and ${join(dir, TLS_FILES.key)}`));
    }
    try {
      this.load(readTlsDir(dir));
    } catch (err) {
      return Promise.reject(new Error(`TLS files in ${dir} unusable: ${(err as Error).message}`));
    }
    this.timer = setInterval(() => this.reloadNow(), this.options.reloadIntervalMs);
    this.timer.unref();
    return Promise.resolve();
  }

  current(): TlsMaterial {
    return this.pair.current();
  }

  onChange(listener: (material: TlsMaterial) => void): () => void {
    return this.pair.add(listener);
  }

  healthy(): string | undefined {
    if (!this.served) return 'no serving certificate loaded yet';
    if (isExpired(this.served, this.clock())) {
      return `serving certificate in ${this.options.dir} expired at ${this.served.notAfter.toISOString()}; renew the files`;
    }
    return undefined;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Compares the files with what is served and applies a changed, valid pair. */
  reloadNow(): void {
    let files: TlsMaterial;
    try {
      files = readTlsDir(this.options.dir);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'TLS files unreadable; keeping the current certificate');
      return;
    }
    if (contentOf(files) === this.lastSeen) return;
    try {
      if (this.load(files)) this.pair.notify(files);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'changed TLS files are unusable; keeping the current certificate');
    }
  }

  /** Validates and takes the files; true if the served pair changed. Throws when they are unusable. */
  private load(files: TlsMaterial): boolean {
    // Remembered before validation, so a broken pair is reported once, not every poll.
    this.lastSeen = contentOf(files);
    const cert = parseKeyPair(files.cert, files.key, { cert: TLS_FILES.cert, key: TLS_FILES.key });
    const changed = this.pair.replace(files);
    this.served = cert;
    if (isExpired(cert, this.clock())) this.log.error({ notAfter: cert.notAfter.toISOString() }, 'serving certificate in the TLS files has expired');
    if (changed) this.log.info({ fingerprint: fingerprint(cert), notAfter: cert.notAfter.toISOString() }, 'serving certificate loaded');
    return changed;
  }
}

function contentOf(files: TlsMaterial): string {
  return `${files.cert}\0${files.key}\0${files.ca}`;
}
