import type { RegenerationReason } from './inspect-certificates.js';
import type { TlsState } from './tls-state.js';

/** A new Secret content and why it is written. */
export interface SecretChange {
  state: TlsState;
  /** Counted in certificateRegenerations; undefined when nothing was generated (dropping the old CA). */
  reason: RegenerationReason | undefined;
  /**
   * The webhook configuration must already trust the committed CAs before
   * this is written: replicas will serve a certificate from a CA that the
   * bundle may not hold yet (the switch to the new CA during a rotation).
   * Readers (SecretCertificateReader, the webhook and api roles) serve any
   * usable pair they read and never see caBundle, so this ordering is all
   * that keeps them trusted through a rotation.
   * Every other change is published after it is committed, never before:
   * a CA that loses the race for the Secret must never reach caBundle.
   */
  trustFirst: boolean;
  message: string;
  detail?: string;
}
