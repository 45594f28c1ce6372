import type { Logger } from 'pino';
import { certificateRegenerations } from '../observability/metrics.js';
import { ServedPair, type CertificateSource } from './certificate-source.js';
import { fingerprint, isExpired, parseCertificate, type RegenerationReason } from './inspect-certificates.js';
import { caCommonName, issueCa, issueServingCertificate } from './issue-certificates.js';
import { nextStepAt, planRotation } from './rotation-plan.js';
import type { TlsMaterial } from './tls-files.js';
import {
  TlsSecretConflictError,
  WebhookConfigurationNotFoundError,
  type StoredTlsSecret,
  type TlsSecretStore,
  type WebhookCaBundle,
} from './cluster-interfaces.js';
import { caBundlePem, inspectSecretData, secretDataOf, type SecretInspection, type ServingPair, type SigningCa, type TlsState } from './tls-state.js';

export interface SecretCertificateSourceOptions {
  /** Every name the serving certificate must cover (Service DNS names, IPs). */
  hosts: readonly string[];
  caValidityMs: number;
  certValidityMs: number;
  /** See RotationPolicy.overlapMs. */
  overlapMs: number;
  /** How often to check whether renewal or a rotation step is due (sooner when a step is due earlier). */
  checkIntervalMs: number;
  /** How often to re-read the Secret to pick up pairs other replicas wrote. */
  reloadIntervalMs: number;
  /** First delay between bootstrap attempts; doubles up to 30 s. */
  retryDelayMs?: number;
  /** Common-name prefix of generated CAs; each gets "@<unix seconds>" appended. */
  caNamePrefix?: string;
  /** "Now", injectable so tests can walk through a rotation. */
  clock?: () => Date;
  log: Logger;
}

/** A new Secret content and why it is written. */
interface Change {
  state: TlsState;
  /** Counted in certificateRegenerations; undefined when nothing was generated (dropping the old CA). */
  reason: RegenerationReason | undefined;
  /**
   * Whether the webhook configuration must trust the new state's CAs before
   * the Secret says to serve it: "required" when replicas will serve a
   * certificate from a CA the bundle may not hold yet.
   */
  bundleFirst: 'required' | 'best-effort' | 'none';
  message: string;
  detail?: string;
}

const MAX_WRITE_ATTEMPTS = 5;
const MAX_RETRY_DELAY_MS = 30_000;
// setTimeout fires at once for delays beyond a signed 32-bit int.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Self-signed serving certificates kept in a kubernetes.io/tls Secret, the
 * single source of truth shared by all replicas: whoever finds it missing,
 * broken or due for renewal writes a new one with optimistic concurrency,
 * the others adopt what the winner wrote. Every replica re-reads the Secret
 * every reloadIntervalMs (polling, not a watch: one GET per interval is cheap
 * and survives API server restarts without watch bookkeeping) and hands new
 * pairs to its listeners.
 */
export class SecretCertificateSource implements CertificateSource {
  private state: TlsState | undefined;
  private readonly pair: ServedPair;
  private readonly clock: () => Date;
  private readonly log: Logger;
  private queue: Promise<unknown> = Promise.resolve();
  private busy = 0;
  private checkTimer: NodeJS.Timeout | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The last check or caBundle update failed: retry at the next reload tick instead of the next check. */
  private retryPending = false;
  private lastBundleError: string | undefined;
  private reloadFailing = false;

  constructor(
    private readonly store: TlsSecretStore,
    private readonly webhook: WebhookCaBundle,
    private readonly options: SecretCertificateSourceOptions,
  ) {
    if (options.hosts.length === 0) throw new Error('the serving certificate needs at least one host name');
    this.clock = options.clock ?? (() => new Date());
    this.log = options.log.child({ component: 'tls', secret: store.description });
    this.pair = new ServedPair((err) => this.log.error({ err: message(err) }, 'applying the new serving certificate failed'));
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
        delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
      }
    }
    if (this.stopped) return;
    this.reloadTimer = setInterval(() => this.reloadTick(), this.options.reloadIntervalMs);
    this.reloadTimer.unref();
    this.scheduleCheck();
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
    clearTimeout(this.checkTimer);
    clearInterval(this.reloadTimer);
  }

  /** Repairs, renews or rotates now if due, then makes the webhook configuration trust the CA(s). */
  checkNow(): Promise<void> {
    return this.serial(() => this.check());
  }

  /** Re-reads the Secret now and applies a pair another replica wrote. */
  reloadNow(): Promise<void> {
    return this.serial(() => this.reload());
  }

  private async check(): Promise<void> {
    this.retryPending = true;
    for (let attempt = 1; ; attempt++) {
      const stored = await this.store.get();
      const now = this.clock();
      const inspection = inspectSecretData(stored?.data, this.options.hosts, now);
      let change: Change | undefined;
      if (inspection.usable) {
        this.adopt(inspection.state);
        change = this.rotationChange(inspection.state, now);
      } else {
        change = this.repairChange(inspection, stored, now);
      }
      if (!change) {
        this.retryPending = !(await this.syncBundle(inspection.usable ? inspection.state : undefined));
        return;
      }
      if (change.bundleFirst === 'required') await this.webhookMustTrust(change.state);
      if (change.bundleFirst === 'best-effort') await this.syncBundle(change.state);
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
      this.adopt(change.state);
      this.retryPending = !(await this.syncBundle(change.state));
      return;
    }
  }

  private async reload(): Promise<void> {
    const stored = await this.store.get();
    const inspection = inspectSecretData(stored?.data, this.options.hosts, this.clock());
    // A broken Secret is repaired right away rather than at the next check.
    if (!inspection.usable || this.retryPending) return this.check();
    this.adopt(inspection.state);
  }

  private rotationChange(state: TlsState, now: Date): Change | undefined {
    const step = planRotation(state, now, { overlapMs: this.options.overlapMs });
    switch (step.kind) {
      case 'none':
        return undefined;
      case 'renew-serving':
        return {
          state: { ...state, serving: this.issueServing(state.ca) },
          reason: 'renewal',
          bundleFirst: 'none',
          message: 'renewed the serving certificate (less than a third of its lifetime left)',
        };
      case 'start-ca-rotation':
        return {
          state: {
            ca: this.issueCa(),
            previousCa: state.ca.cert,
            serving: step.renewServing ? this.issueServing(state.ca) : state.serving,
          },
          reason: 'ca-rotation',
          bundleFirst: 'best-effort',
          message: 'CA rotation: new CA issued and added to caBundle; serving certificate switches after the overlap',
          detail: `old CA expires ${state.ca.cert.notAfter.toISOString()}`,
        };
      case 'switch-to-new-ca':
        return {
          state: { ...state, serving: this.issueServing(state.ca) },
          reason: 'ca-rotation',
          bundleFirst: 'required',
          message: 'CA rotation: serving certificate now signed by the new CA; old CA stays in caBundle for the overlap',
        };
      case 'drop-previous-ca':
        return {
          state: { ca: state.ca, serving: state.serving },
          reason: undefined,
          bundleFirst: 'none',
          message: 'CA rotation finished: old CA removed from caBundle',
        };
    }
  }

  private repairChange(inspection: Extract<SecretInspection, { usable: false }>, stored: StoredTlsSecret | undefined, now: Date): Change {
    const reason: RegenerationReason = stored ? inspection.problem.reason : 'absent';
    const detail = stored ? inspection.problem.message : `Secret ${this.store.description} does not exist`;
    if (stored) this.log.warn({ reason, detail }, 'TLS Secret unusable; regenerating');
    if (inspection.ca) {
      const previousCa = inspection.previousCa && !isExpired(inspection.previousCa, now) ? inspection.previousCa : undefined;
      return {
        state: { ca: inspection.ca, ...(previousCa ? { previousCa } : {}), serving: this.issueServing(inspection.ca) },
        reason,
        bundleFirst: 'none',
        message: 'issued a new serving certificate with the existing CA',
        detail,
      };
    }
    const ca = this.issueCa();
    // Keep trusting the CA this replica is serving with, so that replicas still
    // on the old pair are not cut off until they reload; dropped after the overlap.
    const inMemory = this.state?.ca.cert;
    const previousCa = inMemory && !isExpired(inMemory, now) ? inMemory : undefined;
    return {
      state: { ca, ...(previousCa ? { previousCa } : {}), serving: this.issueServing(ca) },
      reason,
      bundleFirst: 'best-effort',
      message: stored ? 'generated a new CA and serving certificate' : 'created the TLS Secret with a new CA and serving certificate',
      detail,
    };
  }

  // Issued at the clock's time now, not the check's start: the overlap counts
  // from issuance, and a slow check must not eat into it.
  private issueCa(): SigningCa {
    const now = this.clock();
    const pair = issueCa(caCommonName(this.options.caNamePrefix ?? 'wutong-backup-ca', now), { validityMs: this.options.caValidityMs, now });
    return { cert: parseCertificate(pair.cert, 'new CA'), key: pair.key };
  }

  private issueServing(ca: SigningCa): ServingPair {
    const now = this.clock();
    const pair = issueServingCertificate({ cert: ca.cert.pem, key: ca.key }, this.options.hosts, { validityMs: this.options.certValidityMs, now });
    return { cert: parseCertificate(pair.cert, 'new serving certificate'), key: pair.key };
  }

  private adopt(state: TlsState): void {
    this.state = state;
    const material: TlsMaterial = { cert: state.serving.cert.pem, key: state.serving.key, ca: caBundlePem(state) };
    if (!this.pair.replace(material)) return;
    this.log.info(
      { fingerprint: fingerprint(state.serving.cert), notAfter: state.serving.cert.notAfter.toISOString(), issuer: state.serving.cert.x509.issuer },
      'serving certificate loaded',
    );
    this.pair.notify(material);
  }

  /** Best effort: a failure is logged and retried at the next reload tick. */
  private async syncBundle(state: TlsState | undefined): Promise<boolean> {
    if (!state) return false;
    try {
      if (await this.webhook.ensure(caBundlePem(state))) this.log.info({ webhook: this.webhook.description }, 'caBundle updated');
      this.lastBundleError = undefined;
      return true;
    } catch (err) {
      const text = message(err);
      // Warn once per distinct problem; the retry every reload tick would flood the log otherwise.
      const level = text === this.lastBundleError ? 'debug' : 'warn';
      this.lastBundleError = text;
      if (err instanceof WebhookConfigurationNotFoundError) {
        this.log[level]({ webhook: this.webhook.description }, 'webhook configuration not found; caBundle is set once it exists');
      } else {
        this.log[level]({ webhook: this.webhook.description, err: text }, 'cannot update caBundle; retrying');
      }
      return false;
    }
  }

  /** Like syncBundle, but a failure stops the caller (except a missing configuration: then no one calls the webhook). */
  private async webhookMustTrust(state: TlsState): Promise<void> {
    try {
      await this.webhook.ensure(caBundlePem(state));
    } catch (err) {
      if (err instanceof WebhookConfigurationNotFoundError) return;
      throw new Error(`cannot put the new CA into caBundle of ${this.webhook.description}, postponing the switch: ${message(err)}`);
    }
  }

  private reloadTick(): void {
    if (this.stopped || this.busy > 0) return;
    this.reloadNow().then(
      () => {
        if (this.reloadFailing) this.log.info('TLS Secret readable again');
        this.reloadFailing = false;
      },
      (err: unknown) => {
        this.log[this.reloadFailing ? 'debug' : 'warn']({ err: message(err) }, 'cannot re-read the TLS Secret; keeping the current certificate');
        this.reloadFailing = true;
      },
    );
  }

  private scheduleCheck(): void {
    if (this.stopped) return;
    clearTimeout(this.checkTimer);
    const interval = this.options.checkIntervalMs;
    const untilDue = this.state ? nextStepAt(this.state, { overlapMs: this.options.overlapMs }).getTime() - this.clock().getTime() : interval;
    // At the next step's time, but no later than the interval; a step that is
    // already due (because it failed) is retried at the reload pace, not in a tight loop.
    const delay = Math.min(interval, Math.max(untilDue, Math.min(this.options.reloadIntervalMs, interval)), MAX_TIMER_MS);
    this.checkTimer = setTimeout(() => {
      if (this.stopped) return;
      this.checkNow()
        .catch((err: unknown) => {
          this.retryPending = true;
          this.log.warn({ err: message(err) }, 'TLS check failed; retrying at the next reload');
        })
        .finally(() => this.scheduleCheck());
    }, delay);
    this.checkTimer.unref();
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    this.busy++;
    const run = this.queue.then(op, op).finally(() => {
      this.busy--;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// Not unref'd: while bootstrapping, this timer is what keeps the process alive.
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
