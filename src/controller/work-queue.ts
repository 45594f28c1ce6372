import type { Logger } from 'pino';
import { queueDepth, reconciles } from '../observability/metrics.js';

/** A reconcile may ask to be run again later (a deadline it waits for) instead of being re-triggered. */
export type ReconcileResult = void | { requeueAfterMs: number };
/** Level-based: reads the state of now and acts on it; `signal` aborts when this replica stops leading. */
export type Reconcile = (key: string, signal: AbortSignal) => Promise<ReconcileResult>;

export interface WorkQueueOptions {
  /** Metrics label and logs. */
  name: string;
  /** Keys reconciled at once (never two reconciles of one key); default 2. */
  concurrency?: number;
  /** First retry after a failure of a key; doubles per failure up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Token bucket over every dispatch (backfill patches pods at a bounded rate); unlimited when unset. */
  ratePerSecond?: number;
  burst?: number;
}

/**
 * client-go's workqueue, what controllers are built on: a key is queued at
 * most once however often it is added, a key added while its reconcile runs
 * runs once more afterwards (so no change is missed and none is handled
 * twice at once), failures back off per key, and stop() halts dispatching at
 * once, aborting what runs, while the keys stay queued for the next start.
 */
export class WorkQueue {
  readonly #reconcile: Reconcile;
  readonly #log: Logger;
  readonly #name: string;
  readonly #concurrency: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #ratePerSecond: number | undefined;
  readonly #burst: number;
  readonly #queued = new Set<string>();
  readonly #running = new Map<string, AbortController>();
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #delayed = new Map<string, NodeJS.Timeout>();
  readonly #idleWaiters = new Set<() => void>();
  #started = false;
  #tokens: number;
  #tokensAt = Date.now();
  #refill: NodeJS.Timeout | undefined;

  constructor(reconcile: Reconcile, options: WorkQueueOptions, log: Logger) {
    this.#reconcile = reconcile;
    this.#name = options.name;
    this.#log = log.child({ queue: options.name });
    this.#concurrency = options.concurrency ?? 2;
    this.#initialBackoffMs = options.initialBackoffMs ?? 1_000;
    this.#maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.#ratePerSecond = options.ratePerSecond;
    this.#burst = options.burst ?? Math.max(1, Math.ceil(options.ratePerSecond ?? 1));
    this.#tokens = this.#burst;
  }

  get name(): string {
    return this.#name;
  }

  /** Keys waiting (not counting those running or waiting out a delay). */
  get length(): number {
    return this.#queued.size;
  }

  add(key: string): void {
    const timer = this.#delayed.get(key);
    if (timer) {
      clearTimeout(timer);
      this.#delayed.delete(key);
    }
    if (this.#running.has(key)) {
      this.#dirty.add(key);
      return;
    }
    this.#queued.add(key);
    this.#report();
    this.#dispatch();
  }

  /** Adds the key after delayMs, unless it is added sooner (the sooner wins). */
  addAfter(key: string, delayMs: number): void {
    if (this.#queued.has(key) || this.#delayed.has(key)) return;
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.#delayed.set(key, timer);
  }

  start(): void {
    this.#started = true;
    this.#dispatch();
  }

  /** Stops dispatching and aborts running reconciles; queued keys stay, delayed ones are dropped (the next start feeds every key anyway). */
  stop(): void {
    this.#started = false;
    for (const controller of this.#running.values()) controller.abort(new Error(`queue ${this.#name} stopped`));
    for (const timer of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    clearTimeout(this.#refill);
    this.#refill = undefined;
  }

  /** Resolves once nothing is queued or running (delayed retries do not count). */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.add(resolve));
  }

  #isIdle(): boolean {
    return this.#running.size === 0 && (this.#queued.size === 0 || !this.#started);
  }

  #takeToken(): boolean {
    if (this.#ratePerSecond === undefined) return true;
    const now = Date.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#tokensAt) / 1000) * this.#ratePerSecond);
    this.#tokensAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    if (!this.#refill) {
      const waitMs = Math.ceil(((1 - this.#tokens) / this.#ratePerSecond) * 1000);
      this.#refill = setTimeout(() => {
        this.#refill = undefined;
        this.#dispatch();
      }, waitMs);
      this.#refill.unref();
    }
    return false;
  }

  #dispatch(): void {
    if (!this.#started) return;
    while (this.#running.size < this.#concurrency) {
      const key = this.#next();
      if (key === undefined) break;
      if (!this.#takeToken()) break;
      this.#queued.delete(key);
      this.#report();
      void this.#run(key);
    }
    this.#maybeIdle();
  }

  /** The first queued key that is not running (a running key waits as dirty, not queued). */
  #next(): string | undefined {
    for (const key of this.#queued) if (!this.#running.has(key)) return key;
    return undefined;
  }

  async #run(key: string): Promise<void> {
    const controller = new AbortController();
    this.#running.set(key, controller);
    try {
      const result = await this.#reconcile(key, controller.signal);
      this.#failures.delete(key);
      reconciles.inc({ queue: this.#name, outcome: 'success' });
      if (result && !controller.signal.aborted) this.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      if (controller.signal.aborted) {
        reconciles.inc({ queue: this.#name, outcome: 'aborted' });
        this.#log.debug({ key, err: (err as Error).message }, 'reconcile aborted: no longer leading');
      } else {
        const failures = (this.#failures.get(key) ?? 0) + 1;
        this.#failures.set(key, failures);
        const delay = Math.min(this.#maxBackoffMs, this.#initialBackoffMs * 2 ** Math.min(failures - 1, 16));
        reconciles.inc({ queue: this.#name, outcome: 'error' });
        this.#log[failures === 1 ? 'info' : 'warn']({ key, err: (err as Error).message, failures, retryInMs: delay }, 'reconcile failed; retrying');
        this.addAfter(key, delay);
      }
    } finally {
      this.#running.delete(key);
      if (this.#dirty.delete(key)) this.add(key);
      this.#dispatch();
    }
  }

  #report(): void {
    queueDepth.set({ queue: this.#name }, this.#queued.size);
  }

  #maybeIdle(): void {
    if (!this.#isIdle()) return;
    for (const resolve of this.#idleWaiters) resolve();
    this.#idleWaiters.clear();
  }
}
