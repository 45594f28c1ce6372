import { createHash } from 'node:crypto';
import { HOOK_KINDS } from '../policy/hook-kinds.js';
import { FSB_ANNOTATIONS } from './volumes.js';

/**
 * The webhook's record of what it wrote: every annotation key it set, with a
 * digest of the value it set, as `key=digest,key=digest`. The marker is a
 * plain annotation, so `kubectl get -o yaml`, a Velero restore or
 * `wutong-backup mutate` output carry it along onto pods the webhook never
 * saw, next to whatever the user changed there. A key counts as the
 * webhook's only while it is listed and its value still matches the digest;
 * anything else is the user's and is never changed or removed.
 */
export const MANAGED_ANNOTATION = 'backup.wutong.io/managed';

/**
 * Annotations that only work together: each FSB list on its own (groups 0
 * and 1: the webhook completes a user's excludes with its include list, which
 * honours them), and each hook's keys (groups 2-5). When any key of a group is
 * the user's (added, edited, or one of ours removed), the whole group is: the
 * webhook neither rewrites nor completes it, so it never pairs its
 * `container` with the user's `command`.
 */
const GROUP_COUNT = FSB_ANNOTATIONS.length + HOOK_KINDS.length;

function groupOf(key: string): number {
  const fsb = (FSB_ANNOTATIONS as readonly string[]).indexOf(key);
  if (fsb >= 0) return fsb;
  for (let i = 0; i < HOOK_KINDS.length; i++) if (key.startsWith(HOOK_KINDS[i]?.prefix ?? '\0')) return i + FSB_ANNOTATIONS.length;
  return -1;
}

// 72 bits of SHA-256 in base64url: the point is telling an edited value from
// the one written, not resisting forgery (whoever can edit the value can edit
// the marker too). Values repeat across pods (rendered hook commands, volume
// lists), so their digests are remembered; bounded against hostile input.
const digests = new Map<string, string>();
const DIGEST_CACHE_SIZE = 1024;

function digestOf(value: string): string {
  const cached = digests.get(value);
  if (cached !== undefined) return cached;
  const digest = createHash('sha256').update(value).digest('base64url').slice(0, 12);
  if (digests.size >= DIGEST_CACHE_SIZE) digests.clear();
  digests.set(value, digest);
  return digest;
}

/** The marker recording exactly these written annotations, in the order written (so a second pass reproduces it). */
export function managedMarker(written: ReadonlyArray<readonly [string, string]>): string {
  return written.map(([key, value]) => `${key}=${digestOf(value)}`).join(',');
}

/** Marker entries as key → digest. Anything malformed (an older marker's "fsb,pre-backup" too) vouches for nothing. */
function readMarker(marker: string | undefined): Map<string, string> {
  const entries = new Map<string, string>();
  if (!marker) return entries;
  for (const entry of marker.split(',')) {
    const at = entry.lastIndexOf('=');
    if (at > 0) entries.set(entry.slice(0, at), entry.slice(at + 1));
  }
  return entries;
}

/** The annotations the marker on a pod the webhook has just answered lists: what that pass wrote, added or rewritten alike. */
export function writtenAnnotations(annotations: Record<string, string>): Record<string, string> {
  const written: Record<string, string> = {};
  for (const key of readMarker(annotations[MANAGED_ANNOTATION]).keys()) {
    const value = annotations[key];
    if (value !== undefined) written[key] = value;
  }
  return written;
}

/**
 * The annotations with the webhook's own groups taken back, so this pass can
 * write them afresh (a volume another webhook added, a policy change): what is
 * left is the user's, and is kept as it is. A group goes only when every key
 * of it on the pod is listed with a matching digest and every key listed for
 * it is still there. A marker copied onto another pod together with its
 * annotations therefore lets the webhook redo them for that pod (they were
 * the webhook's output, for a pod it then saw), while a key the user edited
 * or added keeps the whole group the user's.
 */
export function withoutOwned(annotations: Record<string, string>): Record<string, string> {
  const marker = annotations[MANAGED_ANNOTATION];
  if (marker === undefined) return annotations;
  const listed = readMarker(marker);
  const rest = { ...annotations };
  delete rest[MANAGED_ANNOTATION];
  if (listed.size === 0) return rest;
  // One pass: which keys each group has, and whether anything in it is not as the webhook wrote it.
  const present: string[][] = Array.from({ length: GROUP_COUNT }, () => []);
  const users = new Array<boolean>(GROUP_COUNT).fill(false);
  for (const key in rest) {
    const group = groupOf(key);
    if (group < 0) continue;
    present[group]?.push(key);
    if (!users[group] && listed.get(key) !== digestOf(rest[key] ?? '')) users[group] = true;
  }
  for (const key of listed.keys()) {
    const group = groupOf(key);
    if (group >= 0 && !Object.hasOwn(rest, key)) users[group] = true;
  }
  for (let group = 0; group < GROUP_COUNT; group++) {
    if (!users[group]) for (const key of present[group] ?? []) delete rest[key];
  }
  return rest;
}
