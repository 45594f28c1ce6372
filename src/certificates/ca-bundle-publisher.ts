import type { Logger } from 'pino';
import { mergedCaBundle } from './ca-bundle-policy.js';
import { WebhookConfigurationNotFoundError, type WebhookCaBundle } from './cluster-interfaces.js';
import { errorMessage as message } from '../error-message.js';
import type { TlsState } from './tls-state.js';

/**
 * Puts the CAs committed in the Secret into the webhook configuration's
 * caBundle, merged with what is there (see mergedCaBundle). Callers hand it
 * committed states only: what was just read from the Secret or just written
 * to it, never a candidate that may still lose the race for the Secret.
 */
export class CaBundlePublisher {
  private lastError: string | undefined;

  constructor(
    private readonly webhook: WebhookCaBundle,
    private readonly ownCaPrefix: string,
    private readonly clock: () => Date,
    private readonly log: Logger,
  ) {}

  /** Best effort: true when caBundle trusts the state's CAs; a failure is logged (once per distinct problem) and reported as false. */
  async publish(committed: TlsState): Promise<boolean> {
    try {
      if (await this.ensure(committed)) this.log.info({ webhook: this.webhook.description }, 'caBundle updated');
      this.lastError = undefined;
      return true;
    } catch (err) {
      const text = message(err);
      // The retry every reload tick would flood the log otherwise.
      const level = text === this.lastError ? 'debug' : 'warn';
      this.lastError = text;
      if (err instanceof WebhookConfigurationNotFoundError) {
        this.log[level]({ webhook: this.webhook.description }, 'webhook configuration not found; caBundle is set once it exists');
      } else {
        this.log[level]({ webhook: this.webhook.description, err: text }, 'cannot update caBundle; retrying');
      }
      return false;
    }
  }

  /** Like publish, but a failure throws (except a missing configuration: then no one calls the webhook). */
  async mustTrust(committed: TlsState): Promise<void> {
    try {
      await this.ensure(committed);
    } catch (err) {
      if (err instanceof WebhookConfigurationNotFoundError) return;
      throw new Error(`cannot put the new CA into caBundle of ${this.webhook.description}, postponing the switch: ${message(err)}`);
    }
  }

  private ensure(committed: TlsState): Promise<boolean> {
    return this.webhook.ensure((current) => mergedCaBundle(current, committed, this.clock(), this.ownCaPrefix));
  }
}

