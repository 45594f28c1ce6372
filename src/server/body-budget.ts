/**
 * A byte budget shared by every admission body being received. A review is
 * buffered whole before it is parsed, and the API server allows objects up to
 * 3 MiB, so without a bound a burst of large reviews (a big StatefulSet
 * rollout, say) multiplies into an OOM kill, and under `failurePolicy: Ignore`
 * an OOM-killed webhook means every pod meanwhile is admitted unmutated. With
 * the budget, a review that does not fit is answered at once instead (see
 * admission-listener) and the process stays inside its memory limit.
 */
export class BodyBudget {
  private used = 0;

  constructor(readonly limitBytes: number) {}

  /** Takes `bytes` from the budget; false (and nothing taken) when they do not fit. */
  tryReserve(bytes: number): boolean {
    if (this.used + bytes > this.limitBytes) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }

  get inUseBytes(): number {
    return this.used;
  }
}
