// What the controller does next with one request record, from the record and
// the time alone (pure): the loop (src/controller/at-rest-request-loop.ts)
// carries it out. A decided record is kept a while for the API that waits on
// it, then removed; an undecided one is run once, unless it is unreadable,
// refused by the check, or met after its startBy.
import { atRestRequestRefusal, type AtRestRequestCheckContext } from './at-rest-request-check.js';
import type { AtRestHandoff, AtRestRequestRecord, HandoffOutcome } from './at-rest-request.js';

export type AtRestRequestStep =
  | { kind: 'run'; handoff: AtRestHandoff }
  | { kind: 'decide'; outcome: HandoffOutcome }
  | { kind: 'remove' }
  | { kind: 'wait'; ms: number };

export interface AtRestRequestStepContext extends AtRestRequestCheckContext {
  now: Date;
  /** How long a decided record is kept before it is removed. */
  keepMs: number;
}

export function atRestRequestStep(record: AtRestRequestRecord, context: AtRestRequestStepContext): AtRestRequestStep {
  const now = context.now.getTime();
  if (record.decision) {
    const removeAt = Date.parse(record.decision.decidedAt) + context.keepMs;
    return now >= removeAt ? { kind: 'remove' } : { kind: 'wait', ms: removeAt - now };
  }
  const { handoff } = record;
  if (!handoff) return { kind: 'decide', outcome: { kind: 'refused', why: `the request cannot be read: ${record.unreadable ?? 'unknown'}` } };
  if (now > Date.parse(handoff.startBy)) return { kind: 'decide', outcome: { kind: 'expired' } };
  const refusal = atRestRequestRefusal(handoff, context);
  if (refusal !== undefined) return { kind: 'decide', outcome: { kind: 'refused', why: refusal } };
  return { kind: 'run', handoff };
}
