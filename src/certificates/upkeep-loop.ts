import type { Logger } from 'pino';
import { errorMessage } from '../error-message.js';

export interface UpkeepTasks {
  /** Re-reads the Secret (and, for the keeper, checks instead when something needs it). */
  reload(): Promise<void>;
  /** The keeper's checks; a reader (SecretCertificateReader) has none and only reloads. */
  checks?: CheckTasks;
}

export interface CheckTasks {
  /** Repairs, renews or rotates if due. */
  check(): Promise<void>;
  /** How long until the next check should run. */
  nextCheckInMs(): number;
  /** A check failed: the next reload should check again. */
  checkFailed(): void;
}

export interface UpkeepTiming {
  reloadIntervalMs: number;
  /**
   * Longest a check or reload may take before the loop gives up waiting on
   * it and lets the next one run. Every Kubernetes call already has its own
   * timeout; this bounds the sum of a check's calls and anything that ignores
   * its timeout, so a stuck operation can delay upkeep but never stop it.
   */
  operationDeadlineMs: number;
}

// setTimeout fires at once for delays beyond a signed 32-bit int.
const MAX_TIMER_MS = 2_147_483_647;

/** See UpkeepTiming.operationDeadlineMs. */
export const DEFAULT_OPERATION_DEADLINE_MS = 120_000;
/** Longest pause between two attempts to load the first pair at start (the retries double up to it). */
export const MAX_START_RETRY_DELAY_MS = 30_000;

/**
 * Runs a certificate source's upkeep: a reload every reloadIntervalMs and,
 * for the keeper, a check when the next step is due, one at a time (checks and reloads read
 * then write the same Secret), each bounded by operationDeadlineMs. Both
 * timers are re-armed whatever an operation does, so no failure or hang can
 * end the loop.
 */
export class UpkeepLoop {
  private queue: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private checkTimer: NodeJS.Timeout | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private reloadFailing = false;

  constructor(
    private readonly tasks: UpkeepTasks,
    private readonly timing: UpkeepTiming,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.stopped) return;
    this.reloadTimer = setInterval(() => this.reloadTick(), this.timing.reloadIntervalMs);
    this.reloadTimer.unref();
    this.scheduleCheck();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.checkTimer);
    clearInterval(this.reloadTimer);
  }

  /** Runs op after every operation queued before it has settled or passed its deadline. */
  serial<T>(op: () => Promise<T>): Promise<T> {
    this.pending++;
    const run = this.queue.then(() => this.withDeadline(op)).finally(() => {
      this.pending--;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private withDeadline<T>(op: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`TLS upkeep operation still running after ${this.timing.operationDeadlineMs} ms; moving on`)), this.timing.operationDeadlineMs);
      timer.unref();
    });
    return Promise.race([op(), deadline]).finally(() => clearTimeout(timer));
  }

  private reloadTick(): void {
    // A reload already waiting in the queue will read the Secret soon enough;
    // queueing one per tick behind a slow operation would only pile them up.
    if (this.stopped || this.pending > 1) return;
    this.serial(() => this.tasks.reload()).then(
      () => {
        if (this.reloadFailing) this.log.info('TLS Secret readable again');
        this.reloadFailing = false;
      },
      (err: unknown) => {
        this.log[this.reloadFailing ? 'debug' : 'warn']({ err: errorMessage(err) }, 'cannot re-read the TLS Secret; keeping the current certificate');
        this.reloadFailing = true;
      },
    );
  }

  private scheduleCheck(): void {
    const checks = this.tasks.checks;
    if (this.stopped || !checks) return;
    clearTimeout(this.checkTimer);
    this.checkTimer = setTimeout(() => {
      if (this.stopped) return;
      this.serial(() => checks.check())
        .catch((err: unknown) => {
          checks.checkFailed();
          this.log.warn({ err: errorMessage(err) }, 'TLS check failed; retrying at the next reload');
        })
        .finally(() => this.scheduleCheck());
    }, Math.min(Math.max(0, checks.nextCheckInMs()), MAX_TIMER_MS));
    this.checkTimer.unref();
  }
}
