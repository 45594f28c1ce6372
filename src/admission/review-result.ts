import type { AdmissionResponse } from './admission-review.js';
import type { MutationWarning } from './warnings.js';

// What handling one admission request produced, shared by the pod path
// (review-handler.ts) and the workload path (workload-review.ts): each builds
// its own, and the handler only dispatches between them.

export type ReviewOutcome = 'patched' | 'unchanged' | 'skipped';

export interface ReviewResult {
  response: AdmissionResponse;
  outcome: ReviewOutcome;
  /** Why the pod was skipped, for debug logs. */
  skipReason?: string;
  warnings: MutationWarning[];
  added: { labels: number; fsb: number; hooks: number };
}

/** `added` of a review that added nothing. */
export const NOTHING_ADDED: ReviewResult['added'] = { labels: 0, fsb: 0, hooks: 0 };

/** kubectl prints every webhook's warnings together: say whose these are. */
export const WARNING_PREFIX = 'wutong-backup: ';
