import type { Logger } from 'pino';
import { certificateRegenerations } from '../observability/metrics.js';
import { CaBundlePublisher } from './ca-bundle-publisher.js';
import { CertificateIssuer } from './certificate-issuer.js';
import { ServedPair, type CertificateSource } from './certificate-source.js';
import { TlsSecretConflictError, type TlsSecretStore, type WebhookCaBundle } from './cluster-interfaces.js';
import { errorMessage as message } from '../error-message.js';
import { isExpired } from './inspect-certificates.js';
import { serveTlsState } from './serve-tls-state.js';
import { repairChange } from './repair-change.js';
import { rotationChange } from './rotation-change.js';
import { nextStepAt } from './rotation-plan.js';
import type { SecretChange } from './secret-change.js';
import type { TlsMaterial } from './tls-files.js';
import { inspectSecretData, secretDataOf, type TlsState } from './tls-state.js';
import { DEFAULT_OPERATION_DEADLINE_MS, MAX_START_RETRY_DELAY_MS, UpkeepLoop } from './upkeep-loop.js';

export interface SecretCertificateSourceOptions {
  /** Every name the serving certificate must cover (Service DNS names, IPs). */
  hosts: readonly string[];
  caValidityMs: number;
  certValidityMs: number;
  /** See RotationPolicy.overlapMs. */
  overlapMs: number;
  /** How often to check whether renewal or a rotation step is due (sooner when a step is due earlier). */
  checkIntervalMs: number;
  /**
   * How often to re-read the Secret, to pick up pairs other replicas wrote,
   * and the webhook configuration, to restore a caBundle someone emptied or
   * overwrote.
   */
  reloadIntervalMs: number;
  /** See UpkeepTiming.operationDeadlineMs; default 2 minutes. */
  operationDeadlineMs?: number;
  /** First delay between bootstrap attempts; doubles up to 30 s. */
  retryDelayMs?: number;
  /** Common-name prefix of generated CAs; each gets "@<unix seconds>" appended. */
  caNamePrefix?: string;
  /** "Now", injectable so tests can walk through a rotation. */
  clock?: () => Date;
  log: Logger;
}

const MAX_WRITE_ATTEMPTS = 5;

/**
 * Self-signed serving certificates kept in a kubernetes.io/tls Secret, the
 * single source of truth shared by all replicas. This is the keeper, run only
 * by processes of the controller role (createCertificateSource); the webhook
 * and api roles read the Secret (SecretCertificateReader) and so rely on the
 * ordering below. Among keepers, whoever finds it missing,
 * broken or due for renewal writes a new one with optimistic concurrency
 * (repairChange, rotationChange), the others adopt what the winner wrote.
 * caBundle only ever receives CAs committed in the Secret (CaBundlePublisher),
 * and a new pair is served only after its CA was published. Every replica
 * re-reads the Secret and the webhook configuration every reloadIntervalMs
 * (UpkeepLoop: polling, one GET each per interval, survives API server
 * restarts without watch bookkeeping).
 */
export class SecretCertificateSource implements CertificateSource {
  private state: TlsState | undefined;
  private readonly pair: ServedPair;
  private readonly clock: () => Date;
  private readonly log: Logger;
  private readonly issuer: CertificateIssuer;
  private readonly bundle: CaBundlePublisher;
  private readonly upkeep: UpkeepLoop;
  private stopped = false;
  /** The last check or caBundle update failed: retry at the next reload tick instead of the next check. */
  private retryPending = false;

  constructor(
    private readonly store: TlsSecretStore,
    webhook: WebhookCaBundle,
    private readonly options: SecretCertificateSourceOptions,
  ) {
    if (options.hosts.length === 0) throw new Error('the serving certificate needs at least one host name');
    this.clock = options.clock ?? (() => new Date());
    this.log = options.log.child({ component: 'tls', secret: store.description });
    this.pair = new ServedPair((err) => this.log.error({ err: message(err) }, 'applying the new serving certificate failed'));
    const caNamePrefix = options.caNamePrefix ?? 'wutong-backup-ca';
    this.issuer = new CertificateIssuer({ hosts: options.hosts, caValidityMs: options.caValidityMs, certValidityMs: options.certValidityMs, caNamePrefix }, this.clock);
    this.bundle = new CaBundlePublisher(webhook, caNamePrefix, this.clock, this.log);
    this.upkeep = new UpkeepLoop(
      {
        reload: () => this.reload(),
        checks: {
          check: () => this.check(),
          nextCheckInMs: () => this.nextCheckInMs(),
          checkFailed: () => (this.retryPending = true),
        },
      },
      { reloadIntervalMs: options.reloadIntervalMs, operationDeadlineMs: options.operationDeadlineMs ?? DEFAULT_OPERATION_DEADLINE_MS },
      this.log,
    );
  }

  async start(): Promise<void> {
    let delay = this.options.retryDelayMs ?? 1_000;
    for (;;) {
      if (this.stopped) throw new Error(`stopped before the TLS Secret ${this.store.description} could be loaded`);
      try {
        await this.checkNow();
        break;
      } catch (err) {
        if (this.pair.loaded) {
          // A valid pair is loaded; only a rotation step failed. Serve and retry later.
          this.log.warn({ err: message(err) }, 'TLS check failed; serving the stored certificate and retrying');
          this.retryPending = true;
          break;
        }
        this.log.error({ err: message(err), retryInMs: delay }, 'cannot load or create the TLS Secret; retrying');
        await sleep(delay);
        delay = Math.min(delay * 2, MAX_START_RETRY_DELAY_MS);
      }
    }
    if (!this.stopped) this.upkeep.start();
  }

  current(): TlsMaterial {
    return this.pair.current();
  }

  onChange(listener: (material: TlsMaterial) => void): () => void {
    return this.pair.add(listener);
  }

  healthy(): string | undefined {
    if (!this.state) return 'no serving certificate loaded yet';
    if (isExpired(this.state.serving.cert, this.clock())) {
      return `serving certificate expired at ${this.state.serving.cert.notAfter.toISOString()}`;
    }
    return undefined;
  }

  stop(): void {
    this.stopped = true;
    this.upkeep.stop();
  }

  /** Repairs, renews or rotates now if due, then makes the webhook configuration trust the CA(s). */
  checkNow(): Promise<void> {
    return this.upkeep.serial(() => this.check());
  }

  /** Re-reads the Secret now, applies a pair another replica wrote, and restores caBundle if someone changed it. */
  reloadNow(): Promise<void> {
    return this.upkeep.serial(() => this.reload());
  }

  private async check(): Promise<void> {
    this.retryPending = true;
    for (let attempt = 1; ; attempt++) {
      const stored = await this.store.get();
      const now = this.clock();
      const inspection = inspectSecretData(stored?.data, this.options.hosts, now);
      let change: SecretChange | undefined;
      if (inspection.usable) {
        this.adopt(inspection.state);
        change = rotationChange(inspection.state, now, this.options.overlapMs, this.issuer);
      } else {
        if (stored) this.log.warn({ reason: inspection.problem.reason, detail: inspection.problem.message }, 'TLS Secret unusable; regenerating');
        change = repairChange(inspection, stored, this.state?.ca.cert, this.issuer, this.store.description, now);
      }
      if (!change) {
        this.retryPending = !(inspection.usable && (await this.bundle.publish(inspection.state)));
        return;
      }
      if (change.trustFirst && inspection.usable) await this.bundle.mustTrust(inspection.state);
      try {
        await (stored ? this.store.update(secretDataOf(change.state), stored.resourceVersion) : this.store.create(secretDataOf(change.state)));
      } catch (err) {
        if (err instanceof TlsSecretConflictError && attempt < MAX_WRITE_ATTEMPTS) {
          this.log.info({ attempt }, 'another replica wrote the TLS Secret first; re-reading it');
          continue;
        }
        throw err;
      }
      if (change.reason) certificateRegenerations.inc({ reason: change.reason });
      this.log.info({ reason: change.reason, detail: change.detail }, change.message);
      // Committed: publish its CAs first, so that no client is handed a
      // certificate from a CA its caBundle does not hold yet, then serve it.
      const published = await this.bundle.publish(change.state);
      this.adopt(change.state);
      this.retryPending = !published;
      return;
    }
  }

  private async reload(): Promise<void> {
    const stored = await this.store.get();
    const inspection = inspectSecretData(stored?.data, this.options.hosts, this.clock());
    // A broken Secret is repaired right away rather than at the next check.
    if (!inspection.usable || this.retryPending) return this.check();
    this.adopt(inspection.state);
    if (!(await this.bundle.publish(inspection.state))) this.retryPending = true;
  }

  private nextCheckInMs(): number {
    const interval = this.options.checkIntervalMs;
    const untilDue = this.state ? nextStepAt(this.state, { overlapMs: this.options.overlapMs }).getTime() - this.clock().getTime() : interval;
    // At the next step's time, but no later than the interval; a step that is
    // already due (because it failed) is retried at the reload pace, not in a tight loop.
    return Math.min(interval, Math.max(untilDue, Math.min(this.options.reloadIntervalMs, interval)));
  }

  private adopt(state: TlsState): void {
    this.state = state;
    serveTlsState(this.pair, state, this.log);
  }
}

// Not unref'd: while bootstrapping, this timer is what keeps the process alive.
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
