import { isSignedBy, lifetimeMs, renewalTime, type ParsedCertificate } from './inspect-certificates.js';
import type { TlsState } from './tls-state.js';

export interface RotationPolicy {
  /**
   * How long old and new CA are both trusted before the serving certificate
   * switches to the new CA, and again before the old CA leaves the bundle.
   * Capped at a sixth of the retiring CA's lifetime so both windows fit in
   * the third of its life that remains when rotation starts.
   */
  overlapMs: number;
}

/**
 * The next step for a valid Secret. CA rotation runs in three steps, each a
 * separate write of the Secret, so that no client ever sees a serving
 * certificate its caBundle does not trust:
 *   1. start-ca-rotation: new CA becomes the signer, old CA moves to
 *      ca-previous.crt, caBundle = old + new; serving cert unchanged.
 *   2. switch-to-new-ca (after the overlap): serving cert reissued by the new CA.
 *   3. drop-previous-ca (after another overlap, or once the old CA expired):
 *      caBundle = new CA only.
 */
export type RotationStep =
  | { kind: 'none' }
  | { kind: 'renew-serving' }
  | { kind: 'start-ca-rotation'; renewServing: boolean }
  | { kind: 'switch-to-new-ca' }
  | { kind: 'drop-previous-ca' };

export function overlapFor(retiringCa: ParsedCertificate, policy: RotationPolicy): number {
  return overlapWindowMs({ lifetimeMs: lifetimeMs(retiringCa) }, policy);
}

/** The overlap for a CA of the given lifetime (see RotationPolicy.overlapMs). */
export function overlapWindowMs(ca: { lifetimeMs: number }, policy: RotationPolicy): number {
  return Math.min(policy.overlapMs, ca.lifetimeMs / 6);
}

export function planRotation(state: TlsState, now: Date, policy: RotationPolicy): RotationStep {
  const t = now.getTime();
  const previous = state.previousCa;
  if (previous) {
    const overlap = overlapFor(previous, policy);
    if (!isSignedBy(state.serving.cert, state.ca.cert)) {
      const switchAt = Math.min(state.ca.cert.issuedAt.getTime() + overlap, previous.notAfter.getTime());
      return t >= switchAt ? { kind: 'switch-to-new-ca' } : { kind: 'none' };
    }
    const dropAt = Math.min(state.serving.cert.issuedAt.getTime() + overlap, previous.notAfter.getTime());
    if (t >= dropAt) return { kind: 'drop-previous-ca' };
    return t >= renewalTime(state.serving.cert).getTime() ? { kind: 'renew-serving' } : { kind: 'none' };
  }
  const servingDue = t >= renewalTime(state.serving.cert).getTime();
  if (t >= renewalTime(state.ca.cert).getTime()) return { kind: 'start-ca-rotation', renewServing: servingDue };
  return servingDue ? { kind: 'renew-serving' } : { kind: 'none' };
}

/** When planRotation will next return a step (so checks can be scheduled for it). */
export function nextStepAt(state: TlsState, policy: RotationPolicy): Date {
  const previous = state.previousCa;
  if (!previous) return new Date(Math.min(renewalTime(state.serving.cert).getTime(), renewalTime(state.ca.cert).getTime()));
  const overlap = overlapFor(previous, policy);
  if (!isSignedBy(state.serving.cert, state.ca.cert)) {
    return new Date(Math.min(state.ca.cert.issuedAt.getTime() + overlap, previous.notAfter.getTime()));
  }
  return new Date(
    Math.min(state.serving.cert.issuedAt.getTime() + overlap, previous.notAfter.getTime(), renewalTime(state.serving.cert).getTime()),
  );
}
