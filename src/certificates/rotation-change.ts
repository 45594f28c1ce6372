import type { CertificateIssuer } from './certificate-issuer.js';
import { planRotation } from './rotation-plan.js';
import type { SecretChange } from './secret-change.js';
import type { TlsState } from './tls-state.js';

/** What to write for a valid Secret whose renewal or next CA rotation step (see planRotation) is due; undefined when none is. */
export function rotationChange(state: TlsState, now: Date, overlapMs: number, issuer: CertificateIssuer): SecretChange | undefined {
  const step = planRotation(state, now, { overlapMs });
  switch (step.kind) {
    case 'none':
      return undefined;
    case 'renew-serving':
      return {
        state: { ...state, serving: issuer.issueServing(state.ca) },
        reason: 'renewal',
        trustFirst: false,
        message: 'renewed the serving certificate (less than a third of its lifetime left)',
      };
    case 'start-ca-rotation':
      return {
        state: {
          ca: issuer.issueCa(),
          previousCa: state.ca.cert,
          serving: step.renewServing ? issuer.issueServing(state.ca) : state.serving,
        },
        reason: 'ca-rotation',
        trustFirst: false,
        message: 'CA rotation: new CA issued and added to caBundle; serving certificate switches after the overlap',
        detail: `old CA expires ${state.ca.cert.notAfter.toISOString()}`,
      };
    case 'switch-to-new-ca':
      return {
        state: { ...state, serving: issuer.issueServing(state.ca) },
        reason: 'ca-rotation',
        trustFirst: true,
        message: 'CA rotation: serving certificate now signed by the new CA; old CA stays in caBundle for the overlap',
      };
    case 'drop-previous-ca':
      return {
        state: { ca: state.ca, serving: state.serving },
        reason: undefined,
        trustFirst: false,
        message: 'CA rotation finished: old CA removed from caBundle',
      };
  }
}
