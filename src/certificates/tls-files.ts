import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { caCommonName, issueCa, issueServingCertificate, LOCAL_HOSTS, DEFAULT_CERT_VALIDITY_MS, type KeyPair } from './issue-certificates.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** PEM of the CA(s) that clients should trust; empty when unknown (files without ca.crt). */
  ca: string;
}

export const TLS_FILES = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt', caKey: 'ca.key' } as const;

/** Reads tls.crt, tls.key and (if present) ca.crt. */
export function readTlsDir(dir: string): TlsMaterial {
  const caPath = join(dir, TLS_FILES.ca);
  return {
    cert: readFileSync(join(dir, TLS_FILES.cert), 'utf8'),
    key: readFileSync(join(dir, TLS_FILES.key), 'utf8'),
    ca: existsSync(caPath) ? readFileSync(caPath, 'utf8') : '',
  };
}

export function hasTlsFiles(dir: string): boolean {
  return [TLS_FILES.cert, TLS_FILES.key].every((f) => existsSync(join(dir, f)));
}

/**
 * Writes CA and serving pair; keys are readable by the owner only. Each file
 * is written under a temporary name and renamed, so a server polling the
 * directory never reads half a file. The serving pair goes last: a poller
 * that sees it can rely on ca.crt already matching.
 */
export function writeTlsDir(dir: string, ca: KeyPair, serving: KeyPair): void {
  mkdirSync(dir, { recursive: true });
  writeAtomically(join(dir, TLS_FILES.ca), ca.cert, 0o644);
  writeAtomically(join(dir, TLS_FILES.caKey), ca.key, 0o600);
  writeAtomically(join(dir, TLS_FILES.key), serving.key, 0o600);
  writeAtomically(join(dir, TLS_FILES.cert), serving.cert, 0o644);
}

function writeAtomically(path: string, text: string, mode: number): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode });
  renameSync(temporary, path);
}

/** Development certificates for a webhook reached on this machine. */
export function generateDevelopmentTls(dir: string, hosts: readonly string[] = LOCAL_HOSTS, validityMs = DEFAULT_CERT_VALIDITY_MS): void {
  const ca = issueCa(caCommonName('wutong-backup-development-ca'), { validityMs });
  const serving = issueServingCertificate(ca, hosts, { validityMs });
  writeTlsDir(dir, ca, serving);
}
