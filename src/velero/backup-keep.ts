// How many completed backups retention keeps per component: written by the
// policy (rule protection) or the API (schedule body) into annotation
// backup.wutong.io/keep on the component's Schedule, read by retention.

/** Beyond this a typo (7000 for 7) is likelier than a wish; it also bounds one retention pass. */
export const MAX_KEEP = 1000;

export const KEEP_RULE = `a whole number from 1 to ${MAX_KEEP}`;

export function isKeep(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_KEEP;
}
