// The download's bearer token: the API makes one per download, keeps it in
// memory only and writes only its sha256 into the request record, which the
// controller hands to the holder pod. Anyone who can read the record (or the
// holder's Secret) still cannot fetch the archive; only the API process that
// started the download can.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 32 random bytes, base64url: what the API sends as `Authorization: Bearer …`. */
export const newArchiveToken = (): string => randomBytes(32).toString('base64url');

/** The token's sha256, hex: what the record and the holder keep. */
export const archiveTokenDigest = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** Whether `presented` is the token of `digestHex`: compares the two digests in constant time (equal lengths always). */
export function archiveTokenMatches(presented: string, digestHex: string): boolean {
  const expected = Buffer.from(digestHex, 'hex');
  const actual = createHash('sha256').update(presented, 'utf8').digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
