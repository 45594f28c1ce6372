// The Kubernetes I/O the Secret-backed certificate source needs, as two small
// interfaces. src/kube implements them with @kubernetes/client-node; tests use
// in-memory implementations.

/** Keys of the kubernetes.io/tls Secret that holds the webhook's CA and serving pair. */
export const SECRET_KEYS = {
  cert: 'tls.crt',
  key: 'tls.key',
  ca: 'ca.crt',
  caKey: 'ca.key',
  /** The CA being retired, present only while a CA rotation overlaps old and new. */
  previousCa: 'ca-previous.crt',
} as const;

/** Secret data as text (PEM), keyed by SECRET_KEYS values; decoding from base64 is the store's job. */
export type TlsSecretData = Readonly<Record<string, string>>;

export interface StoredTlsSecret {
  data: TlsSecretData;
  /** Opaque version for optimistic concurrency (metadata.resourceVersion). */
  resourceVersion: string;
}

/** Thrown by create (already exists) and update (resourceVersion is stale): someone else wrote first. */
export class TlsSecretConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsSecretConflictError';
  }
}

/**
 * Read access to the Secret: all the webhook and api roles get (they serve
 * what the controller role keeps; see SecretCertificateReader).
 */
export interface TlsSecretReader {
  /** "namespace/name", for logs. */
  readonly description: string;
  /** The Secret, or undefined when it does not exist. */
  get(): Promise<StoredTlsSecret | undefined>;
}

/** Read and write access: the keeper's (SecretCertificateSource, controller role). */
export interface TlsSecretStore extends TlsSecretReader {
  /** Creates the Secret; TlsSecretConflictError when it already exists. */
  create(data: TlsSecretData): Promise<StoredTlsSecret>;
  /** Replaces the data if the Secret is still at resourceVersion; TlsSecretConflictError otherwise. */
  update(data: TlsSecretData, resourceVersion: string): Promise<StoredTlsSecret>;
}

/** Thrown by WebhookCaBundle.ensure when the webhook configuration does not exist (yet). */
export class WebhookConfigurationNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookConfigurationNotFoundError';
  }
}

export interface WebhookCaBundle {
  /** "MutatingWebhookConfiguration/name", for logs. */
  readonly description: string;
  /**
   * Sets every webhook entry's caBundle to bundleFor(what the entry holds now,
   * as PEM; "" when unset), in one write that fails if the configuration
   * changed since it was read (then it reads again). Resolves true if
   * something was changed, false if every entry already held its bundle.
   */
  ensure(bundleFor: (currentPem: string) => string): Promise<boolean>;
}
