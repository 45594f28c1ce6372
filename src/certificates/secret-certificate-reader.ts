import type { Logger } from 'pino';
import { ServedPair, type CertificateSource } from './certificate-source.js';
import type { TlsSecretReader } from './cluster-interfaces.js';
import { errorMessage as message } from '../error-message.js';
import { isExpired } from './inspect-certificates.js';
import { serveTlsState } from './serve-tls-state.js';
import type { TlsMaterial } from './tls-files.js';
import { inspectSecretData, type TlsState } from './tls-state.js';
import { DEFAULT_OPERATION_DEADLINE_MS, MAX_START_RETRY_DELAY_MS, UpkeepLoop } from './upkeep-loop.js';

export interface SecretCertificateReaderOptions {
  /** Every name the serving certificate must cover; a pair that misses one is not served. */
  hosts: readonly string[];
  /** How often to re-read the Secret, to pick up the pairs the keeper writes. */
  reloadIntervalMs: number;
  /** See UpkeepTiming.operationDeadlineMs; default 2 minutes. */
  operationDeadlineMs?: number;
  /** First delay between attempts to load the first pair; doubles up to 30 s. */
  retryDelayMs?: number;
  clock?: () => Date;
  log: Logger;
}

/**
 * The serving pair of TLS_SOURCE=self, read from the Secret that the
 * controller role keeps (SecretCertificateSource): what the webhook and api
 * roles run. It only ever GETs the Secret, never writes it and never touches
 * the webhook configuration, so those processes need no right to change what
 * the API server trusts, and a compromised one cannot.
 *
 * Start waits, with backoff, until the Secret holds a usable pair (the keeper
 * creates it). Afterwards the Secret is re-read every reloadIntervalMs and a
 * changed usable pair is served from then on; a missing or unusable Secret is
 * logged and the last good pair keeps serving until the keeper repairs it.
 *
 * What this relies on: the keeper commits a serving pair signed by a new CA
 * only once caBundle holds that CA. During a CA rotation that is the
 * keeper's ordering (rotation-plan.ts): the new CA is first added next to the
 * old one with the serving pair unchanged; the switch to a pair of the new CA
 * is written only after caBundle was confirmed to hold it
 * (SecretChange.trustFirst); the old CA leaves caBundle one overlap later,
 * long after every reader reloaded off it (the overlap is hours, the reload
 * seconds). So adopting whatever usable pair the Secret holds, at the next
 * reload, never serves a pair the API server does not trust. The exception
 * is a repair that needs a new CA (the stored CA unusable or deleted): the
 * keeper can publish that CA only after its write won the race for the
 * Secret, so a reader that reloads in between serves a pair the API server
 * does not trust yet, until the keeper's caBundle patch lands (its next
 * reload, if that patch fails).
 */
export class SecretCertificateReader implements CertificateSource {
  private state: TlsState | undefined;
  private readonly pair: ServedPair;
  private readonly clock: () => Date;
  private readonly log: Logger;
  private readonly upkeep: UpkeepLoop;
  private stopped = false;
  /** Before the first pair: why there is none yet (healthy() reports it). */
  private waitingFor: string | undefined;
  /** After start: the problem last logged for the Secret, so a broken Secret is warned about once, not every reload. */
  private lastProblem: string | undefined;
  private wakeUp: (() => void) | undefined;

  constructor(
    private readonly store: TlsSecretReader,
    private readonly options: SecretCertificateReaderOptions,
  ) {
    if (options.hosts.length === 0) throw new Error('the serving certificate needs at least one host name');
    this.clock = options.clock ?? (() => new Date());
    this.log = options.log.child({ component: 'tls', secret: store.description });
    this.pair = new ServedPair((err) => this.log.error({ err: message(err) }, 'applying the new serving certificate failed'));
    this.upkeep = new UpkeepLoop(
      { reload: () => this.reload() },
      { reloadIntervalMs: options.reloadIntervalMs, operationDeadlineMs: options.operationDeadlineMs ?? DEFAULT_OPERATION_DEADLINE_MS },
      this.log,
    );
  }

  /** Resolves once the Secret held a usable pair; until then retries, with a backoff up to 30 s. */
  async start(): Promise<void> {
    let delay = this.options.retryDelayMs ?? 1_000;
    for (;;) {
      if (this.stopped) throw new Error(`stopped before the TLS Secret ${this.store.description} could be loaded`);
      let level: 'info' | 'warn' = 'warn';
      try {
        const outcome = await this.upkeep.serial(() => this.readFirst());
        if (outcome === 'loaded') break;
        // The normal state of a fresh install until the controller has started: not worth a warning.
        if (outcome === 'absent') level = 'info';
      } catch (err) {
        this.waitingFor = `cannot read TLS Secret ${this.store.description}: ${message(err)}`;
      }
      this.log[level]({ retryInMs: delay }, this.waitingFor ?? 'waiting for the TLS Secret');
      await this.pause(delay);
      delay = Math.min(delay * 2, MAX_START_RETRY_DELAY_MS);
    }
    this.waitingFor = undefined;
    if (!this.stopped) this.upkeep.start();
  }

  current(): TlsMaterial {
    return this.pair.current();
  }

  onChange(listener: (material: TlsMaterial) => void): () => void {
    return this.pair.add(listener);
  }

  healthy(): string | undefined {
    if (!this.state) return this.waitingFor ?? 'no serving certificate loaded yet';
    if (isExpired(this.state.serving.cert, this.clock())) {
      return `serving certificate expired at ${this.state.serving.cert.notAfter.toISOString()}; the controller role renews TLS Secret ${this.store.description}`;
    }
    return undefined;
  }

  stop(): void {
    this.stopped = true;
    this.upkeep.stop();
    this.wakeUp?.();
  }

  /** Re-reads the Secret now and serves a changed usable pair (what every reload tick does). */
  reloadNow(): Promise<void> {
    return this.upkeep.serial(() => this.reload());
  }

  private async readFirst(): Promise<'loaded' | 'absent' | 'unusable'> {
    const stored = await this.store.get();
    if (!stored) {
      this.waitingFor = `waiting for the controller to create TLS Secret ${this.store.description}`;
      return 'absent';
    }
    const inspection = inspectSecretData(stored.data, this.options.hosts, this.clock());
    if (!inspection.usable) {
      this.waitingFor = `waiting for the controller to repair TLS Secret ${this.store.description}: ${inspection.problem.message}`;
      return 'unusable';
    }
    this.adopt(inspection.state);
    return 'loaded';
  }

  private async reload(): Promise<void> {
    // A failed read throws: UpkeepLoop logs it (once) and keeps the current pair.
    const stored = await this.store.get();
    const inspection = stored ? inspectSecretData(stored.data, this.options.hosts, this.clock()) : undefined;
    if (inspection?.usable) {
      if (this.lastProblem !== undefined) this.log.info('TLS Secret usable again');
      this.lastProblem = undefined;
      this.adopt(inspection.state);
      return;
    }
    const problem = inspection ? `TLS Secret unusable (${inspection.problem.message})` : 'TLS Secret not found';
    // The keeper repairs it within its reload interval; a warning per reload would only repeat this one.
    this.log[problem === this.lastProblem ? 'debug' : 'warn']({ reason: inspection?.problem.reason ?? 'absent' }, `${problem}; serving the last good certificate until the controller repairs it`);
    this.lastProblem = problem;
  }

  private adopt(state: TlsState): void {
    this.state = state;
    serveTlsState(this.pair, state, this.log);
  }

  // Not unref'd: while waiting for the Secret, this timer is what keeps the process alive. stop() ends it early.
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
    });
  }
}
