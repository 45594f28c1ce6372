import { jest } from '@jest/globals';
import { parseCertificate, renewalTime } from '../../../src/certificates/inspect-certificates.js';
import { issueCa, issueServingCertificate, type KeyPair } from '../../../src/certificates/issue-certificates.js';
import { nextStepAt, overlapFor, planRotation } from '../../../src/certificates/rotation-plan.js';
import type { TlsState } from '../../../src/certificates/tls-state.js';

jest.setTimeout(60_000);

const DAY = 86_400_000;
const T0 = new Date('2030-01-01T00:00:00Z');
const at = (days: number): Date => new Date(T0.getTime() + days * DAY);
const policy = { overlapMs: DAY };

const caPair = issueCa('ca-1', { validityMs: 300 * DAY, now: T0 });
const ca = { cert: parseCertificate(caPair.cert, 'ca'), key: caPair.key };
const servingPair = issueServingCertificate(caPair, ['svc'], { validityMs: 90 * DAY, now: T0 });
const serving = { cert: parseCertificate(servingPair.cert, 'tls'), key: servingPair.key };

function state(overrides: Partial<TlsState> = {}): TlsState {
  return { ca, serving, ...overrides };
}

describe('renewal at a third of the lifetime', () => {
  test('the renewal time is two thirds into the lifetime counted from issuance, not from the backdated notBefore', () => {
    expect(renewalTime(serving.cert)).toEqual(at(60));
    expect(renewalTime(ca.cert)).toEqual(at(200));
  });

  test('serving certificate: nothing before day 60 of 90, renewal after', () => {
    expect(planRotation(state(), at(59.9), policy)).toEqual({ kind: 'none' });
    expect(planRotation(state(), at(60), policy)).toEqual({ kind: 'renew-serving' });
    expect(nextStepAt(state(), policy)).toEqual(at(60));
  });

  test('a 30 s certificate is due after 20 s, not at once', () => {
    const short = issueServingCertificate(caPair, ['svc'], { validityMs: 30_000, now: T0 });
    const s = state({ serving: { cert: parseCertificate(short.cert, 'tls'), key: short.key } });
    expect(planRotation(s, new Date(T0.getTime() + 19_000), policy)).toEqual({ kind: 'none' });
    expect(planRotation(s, new Date(T0.getTime() + 20_000), policy)).toEqual({ kind: 'renew-serving' });
  });
});

describe('CA rotation steps', () => {
  const nextCaPair = issueCa('ca-2', { validityMs: 300 * DAY, now: at(200) });
  const nextCa = { cert: parseCertificate(nextCaPair.cert, 'ca'), key: nextCaPair.key };
  const renewedPair = issueServingCertificate(nextCaPair, ['svc'], { validityMs: 90 * DAY, now: at(201) });
  const renewed = { cert: parseCertificate(renewedPair.cert, 'tls'), key: renewedPair.key };
  const longServing = (pair: KeyPair, now: Date): TlsState['serving'] => {
    const p = issueServingCertificate(pair, ['svc'], { validityMs: 365 * DAY, now });
    return { cert: parseCertificate(p.cert, 'tls'), key: p.key };
  };

  test('starts when a third of the CA lifetime remains, renewing the serving certificate with the old CA if it is due too', () => {
    const s = state({ serving: longServing(caPair, T0) });
    expect(planRotation(s, at(199), policy)).toEqual({ kind: 'none' });
    expect(planRotation(s, at(200), policy)).toEqual({ kind: 'start-ca-rotation', renewServing: false });
    expect(planRotation(state(), at(200), policy)).toEqual({ kind: 'start-ca-rotation', renewServing: true });
  });

  test('switches the serving certificate to the new CA only after the overlap', () => {
    const s = state({ ca: nextCa, previousCa: ca.cert, serving: longServing(caPair, T0) });
    expect(planRotation(s, at(200.9), policy)).toEqual({ kind: 'none' });
    expect(planRotation(s, at(201), policy)).toEqual({ kind: 'switch-to-new-ca' });
    expect(nextStepAt(s, policy)).toEqual(at(201));
  });

  test('drops the old CA one overlap after the switch', () => {
    const s = state({ ca: nextCa, previousCa: ca.cert, serving: renewed });
    expect(planRotation(s, at(201.9), policy)).toEqual({ kind: 'none' });
    expect(planRotation(s, at(202), policy)).toEqual({ kind: 'drop-previous-ca' });
  });

  test('drops the old CA as soon as it expires, even within the overlap', () => {
    const s = state({ ca: nextCa, previousCa: ca.cert, serving: renewed });
    expect(planRotation(s, at(300), { overlapMs: 1000 * DAY })).toEqual({ kind: 'drop-previous-ca' });
  });

  test('the overlap is capped at a sixth of the old CA lifetime, so both windows fit in its last third', () => {
    expect(overlapFor(ca.cert, { overlapMs: DAY })).toBe(DAY);
    expect(overlapFor(ca.cert, { overlapMs: 100 * DAY })).toBe(50 * DAY);
  });
});
