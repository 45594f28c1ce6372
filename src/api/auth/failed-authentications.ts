/**
 * Failed authentications per source address, so that one source guessing
 * tokens (or replaying a revoked one in a loop) cannot turn this server into
 * a TokenReview amplifier against the API server: every unknown token costs
 * a TokenReview, and the review cache cannot help when each token is new.
 *
 * - A source that failed `limit` times within the last `windowMs` is refused
 *   (429) until the oldest of those failures leaves the window: a sliding
 *   window, so no burst at a window's edge doubles the allowance.
 * - TokenReviews under way count too, so `limit` concurrent new tokens from
 *   one source (an HTTP/2 connection carries hundreds of streams) make at
 *   most `limit` reviews, not one per stream.
 * - Successes are not counted and never refused here: access control answers
 *   a token it already knows to be valid from its cache, whatever the source
 *   did meanwhile (see access-control.ts).
 * - At most `maxSources` sources are tracked, least recently failing dropped
 *   first; a source with no failure in the window and no review under way is
 *   forgotten at once. Memory: about `limit` numbers per tracked source.
 *
 * `limit` 0 turns the limit off.
 */
export interface FailedAuthenticationsOptions {
  limit: number;
  windowMs: number;
  /** Default 10,000. */
  maxSources?: number;
  now?: () => number;
}

interface SourceRecord {
  /** When each failure in the window happened, oldest first. */
  failures: number[];
  /** TokenReviews started for this source and not yet answered. */
  reviewing: number;
}

// With the default limit of 20, a tracked source holds at most 20 timestamps
// (a few hundred bytes with the map entry and its address): 10,000 sources is
// a few MiB at most, and more distinct addresses than one attacker usually
// has. An attacker with more addresses only pushes out the oldest records.
const DEFAULT_MAX_SOURCES = 10_000;

export class FailedAuthentications {
  private readonly sources = new Map<string, SourceRecord>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly maxSources: number;
  private readonly now: () => number;

  constructor(options: FailedAuthenticationsOptions) {
    this.limit = options.limit;
    this.windowMs = options.windowMs;
    this.maxSources = options.maxSources ?? DEFAULT_MAX_SOURCES;
    this.now = options.now ?? Date.now;
  }

  /** Milliseconds until `source` may try again; 0 when it may now. */
  retryAfterMs(source: string | undefined): number {
    const record = this.current(source);
    if (!record || record.failures.length < this.limit) return 0;
    return Math.max(1, (record.failures[record.failures.length - this.limit] ?? 0) + this.windowMs - this.now());
  }

  /**
   * Takes a slot for one TokenReview for `source`: false (nothing taken) when
   * its failures in the window and its reviews under way already reach the
   * limit. Every true must be followed by one endReview.
   */
  tryStartReview(source: string | undefined): boolean {
    if (source === undefined || this.limit <= 0) return true;
    const record = this.current(source) ?? this.track(source);
    if (record.failures.length + record.reviewing >= this.limit) return false;
    record.reviewing++;
    return true;
  }

  endReview(source: string | undefined): void {
    if (source === undefined || this.limit <= 0) return;
    const record = this.sources.get(source);
    if (!record) return;
    record.reviewing = Math.max(0, record.reviewing - 1);
    this.forgetIfIdle(source, record);
  }

  recordFailure(source: string | undefined): void {
    if (source === undefined || this.limit <= 0) return;
    const record = this.current(source) ?? this.track(source);
    record.failures.push(this.now());
    // Only the newest `limit` failures ever decide anything.
    if (record.failures.length > this.limit) record.failures.splice(0, record.failures.length - this.limit);
    // Most recently failing last: the first entry is the one to drop.
    this.sources.delete(source);
    this.sources.set(source, record);
    this.evict();
  }

  /** Sources tracked now (tests, and a bound to check). */
  get size(): number {
    return this.sources.size;
  }

  /** The source's record with failures older than the window dropped; undefined (and forgotten) when nothing is left. */
  private current(source: string | undefined): SourceRecord | undefined {
    if (source === undefined || this.limit <= 0) return undefined;
    const record = this.sources.get(source);
    if (!record) return undefined;
    const since = this.now() - this.windowMs;
    const expired = record.failures.findIndex((at) => at > since);
    record.failures.splice(0, expired < 0 ? record.failures.length : expired);
    return this.forgetIfIdle(source, record) ? undefined : record;
  }

  private track(source: string): SourceRecord {
    const record: SourceRecord = { failures: [], reviewing: 0 };
    this.sources.set(source, record);
    this.evict();
    return record;
  }

  private forgetIfIdle(source: string, record: SourceRecord): boolean {
    if (record.failures.length > 0 || record.reviewing > 0) return false;
    this.sources.delete(source);
    return true;
  }

  private evict(): void {
    for (const source of this.sources.keys()) {
      if (this.sources.size <= this.maxSources) return;
      this.sources.delete(source);
    }
  }
}

/**
 * The source of a request: the TCP peer's address, never a header
 * (X-Forwarded-For is whatever the client wrote). IPv4-mapped IPv6 addresses
 * are the IPv4 address they carry.
 */
export function sourceAddress(socket: { remoteAddress?: string | undefined } | undefined): string | undefined {
  const address = socket?.remoteAddress;
  if (address === undefined || address === '') return undefined;
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}
