// In-memory implementations of the two interfaces the Secret-backed source
// talks to the cluster through. Every call yields to the event loop first, so
// concurrent sources interleave the way they would against a real API server.
import {
  TlsSecretConflictError,
  WebhookConfigurationNotFoundError,
  type StoredTlsSecret,
  type TlsSecretData,
  type TlsSecretStore,
  type WebhookCaBundle,
} from '../../../src/certificates/cluster-interfaces.js';

const yieldToOthers = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class InMemoryTlsSecretStore implements TlsSecretStore {
  readonly description = 'test-ns/wutong-backup-tls';
  private secret: StoredTlsSecret | undefined;
  private version = 0;
  /** Writes refused because someone else wrote first. */
  conflicts = 0;
  writes = 0;
  /** Make the next n get() calls fail like an unreachable API server. */
  failingGets = 0;
  /** While true, get() never answers: an API server that accepts the request and goes silent. */
  hanging = false;
  /** Every content the Secret held, in order (what was ever committed). */
  history: TlsSecretData[] = [];
  /** Runs after each committed create or update, before the writer hears back: what others see in between. */
  afterWrite: (() => Promise<void>) | undefined;

  async get(): Promise<StoredTlsSecret | undefined> {
    await yieldToOthers();
    if (this.hanging) return new Promise<never>(() => undefined);
    if (this.failingGets > 0) {
      this.failingGets--;
      throw new Error('connect ECONNREFUSED 10.96.0.1:443');
    }
    return this.secret && { data: { ...this.secret.data }, resourceVersion: this.secret.resourceVersion };
  }

  async create(data: TlsSecretData): Promise<StoredTlsSecret> {
    await yieldToOthers();
    if (this.secret) {
      this.conflicts++;
      throw new TlsSecretConflictError('already exists');
    }
    const written = this.write(data);
    await this.afterWrite?.();
    return written;
  }

  async update(data: TlsSecretData, resourceVersion: string): Promise<StoredTlsSecret> {
    await yieldToOthers();
    if (this.secret?.resourceVersion !== resourceVersion) {
      this.conflicts++;
      throw new TlsSecretConflictError('stale resourceVersion');
    }
    const written = this.write(data);
    await this.afterWrite?.();
    return written;
  }

  /** What a user or another tool put into the Secret. */
  put(data: TlsSecretData): void {
    this.secret = { data: { ...data }, resourceVersion: String(++this.version) };
    this.history.push({ ...data });
  }

  /** What someone deleting the Secret by hand does. */
  delete(): void {
    this.secret = undefined;
  }

  /** The data as stored right now (undefined if absent). */
  peek(): TlsSecretData | undefined {
    return this.secret?.data;
  }

  private write(data: TlsSecretData): StoredTlsSecret {
    this.writes++;
    this.put(data);
    return { data: { ...data }, resourceVersion: String(this.version) };
  }
}

export class InMemoryWebhookCaBundle implements WebhookCaBundle {
  readonly description = 'MutatingWebhookConfiguration wutong-backup';
  bundle: string | undefined;
  exists = true;
  /** When set, ensure() fails with this message (an API error other than 404). */
  failure: string | undefined;
  patches = 0;

  /** Every bundle written, in order (what API server clients saw, one after the other). */
  history: string[] = [];

  async ensure(bundleFor: (currentPem: string) => string): Promise<boolean> {
    await yieldToOthers();
    if (!this.exists) throw new WebhookConfigurationNotFoundError(`${this.description} not found`);
    if (this.failure) throw new Error(this.failure);
    const wanted = bundleFor(this.bundle ?? '');
    if (this.bundle === wanted) return false;
    this.bundle = wanted;
    this.history.push(wanted);
    this.patches++;
    return true;
  }
}

export class TestClock {
  constructor(public current: Date = new Date()) {}
  now = (): Date => this.current;
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/** A TLS Secret store, a webhook configuration's caBundle and a clock, as one test's cluster. */
export interface InMemoryCluster {
  store: InMemoryTlsSecretStore;
  webhook: InMemoryWebhookCaBundle;
  clock: TestClock;
}

export function inMemoryCluster(): InMemoryCluster {
  return { store: new InMemoryTlsSecretStore(), webhook: new InMemoryWebhookCaBundle(), clock: new TestClock(new Date('2030-01-01T00:00:00Z')) };
}
