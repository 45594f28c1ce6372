import { createHash } from 'node:crypto';
import { ApiError } from '../api-error.js';
import { VELERO_ANNOTATION, VELERO_LABEL } from '../../velero/velero-labels.js';

/** A request's Idempotency-Key as stored on the object it created. */
export interface Idempotency {
  /** Label value: which request (key, route, component) created an object. */
  key: string;
  /** Annotation value: what that request asked for. */
  digest: string;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * The key is hashed with the route and the component so one key reused for
 * another operation is not mistaken for a retry; 40 hex characters fit a
 * label value and keep collisions out of reach.
 */
export function idempotencyOf(header: string | undefined, route: string, component: string, body: unknown): Idempotency | undefined {
  if (header === undefined) return undefined;
  return { key: sha256(`${header}\n${route}\n${component}`).slice(0, 40), digest: sha256(canonicalJson(body)) };
}

interface Labelled {
  metadata: { labels: Readonly<Record<string, string>>; annotations: Readonly<Record<string, string>> };
}

/**
 * The object an earlier try of this request created, if any. The same key
 * with a different body is a client bug, not a retry: answered 422 (as
 * Stripe and the IETF idempotency-key draft do) rather than silently
 * returning an object the body did not ask for.
 */
export function earlierTry<T extends Labelled>(objects: readonly T[], idempotency: Idempotency | undefined): T | undefined {
  if (!idempotency) return undefined;
  const found = objects.find((o) => o.metadata.labels[VELERO_LABEL.idempotencyKey] === idempotency.key);
  if (found && found.metadata.annotations[VELERO_ANNOTATION.requestDigest] !== idempotency.digest) {
    throw new ApiError(422, 'this Idempotency-Key was already used with a different request body', 'idempotency_key_reused', 'Idempotency-Key');
  }
  return found;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
