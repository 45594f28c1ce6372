import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueCa, issueServingCertificate, type KeyPair } from './issue-certificates.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  ca: string;
}

export const TLS_FILES = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt', caKey: 'ca.key' } as const;

export function readTlsDir(dir: string): TlsMaterial {
  return {
    cert: readFileSync(join(dir, TLS_FILES.cert), 'utf8'),
    key: readFileSync(join(dir, TLS_FILES.key), 'utf8'),
    ca: readFileSync(join(dir, TLS_FILES.ca), 'utf8'),
  };
}

export function hasTlsFiles(dir: string): boolean {
  return [TLS_FILES.cert, TLS_FILES.key].every((f) => existsSync(join(dir, f)));
}

/** Writes CA and serving pair; keys are readable by the owner only. */
export function writeTlsDir(dir: string, ca: KeyPair, serving: KeyPair): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, TLS_FILES.ca), ca.cert);
  writeFileSync(join(dir, TLS_FILES.caKey), ca.key, { mode: 0o600 });
  writeFileSync(join(dir, TLS_FILES.cert), serving.cert);
  writeFileSync(join(dir, TLS_FILES.key), serving.key, { mode: 0o600 });
}

/** Development certificates for a webhook reached on this machine. */
export function generateDevelopmentTls(dir: string): void {
  const ca = issueCa('wutong-backup development CA', { validityDays: 365 });
  const serving = issueServingCertificate(ca, ['localhost', '127.0.0.1'], { validityDays: 365 });
  writeTlsDir(dir, ca, serving);
}
