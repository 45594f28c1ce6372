import type { TlsMaterial } from './tls-files.js';

/**
 * Where the webhook's serving certificate comes from, shaped like
 * cert-manager's certificate sources: the server asks for the current pair
 * and is told when it changes, so it can swap it without a restart.
 */
export interface CertificateSource {
  /** Loads (or creates) the first pair; resolves once current() is usable. */
  start(): Promise<void>;
  /** The pair to serve now; throws before start() resolved. */
  current(): TlsMaterial;
  /** Calls `listener` after each change of the serving pair; returns the unsubscribe function. */
  onChange(listener: (material: TlsMaterial) => void): () => void;
  /** undefined while the source can serve, otherwise why not (a readiness check). */
  healthy(): string | undefined;
  /** Stops timers; current() keeps returning the last pair. */
  stop(): void;
}

/**
 * Keeps a consumer (e.g. the HTTPS server's setTls) on the source's current
 * pair: applies it now, then after every change. Subscribing first and
 * applying current() second closes the window in which a change between
 * start() and subscribing would be missed.
 */
export function followCertificateSource(source: CertificateSource, apply: (material: TlsMaterial) => void): () => void {
  const unsubscribe = source.onChange(apply);
  apply(source.current());
  return unsubscribe;
}

/**
 * The pair a source serves and who follows it, shared by the sources: one
 * failing listener must not starve the others.
 */
export class ServedPair {
  private material: TlsMaterial | undefined;
  private readonly listeners = new Set<(material: TlsMaterial) => void>();

  constructor(private readonly onListenerError: (err: unknown) => void) {}

  get loaded(): boolean {
    return this.material !== undefined;
  }

  current(): TlsMaterial {
    if (!this.material) throw new Error('no serving certificate yet: start() has not finished');
    return this.material;
  }

  add(listener: (material: TlsMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Takes the pair now served; true when its certificate or key changed (the bundle alone does not count). */
  replace(material: TlsMaterial): boolean {
    const changed = this.material?.cert !== material.cert || this.material.key !== material.key;
    this.material = material;
    return changed;
  }

  notify(material: TlsMaterial): void {
    for (const listener of this.listeners) {
      try {
        listener(material);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}
