import type { AtRestRequestRecord } from './at-rest-request.js';

/**
 * Every request record as the controller's watch last saw it, by name, with
 * a change feed (the request loop's trigger). Pure: src/kube/at-rest-requests.ts
 * feeds it, and the loop puts in what it wrote itself (read-your-writes).
 */
export class AtRestRequestIndex {
  readonly #records = new Map<string, AtRestRequestRecord>();
  readonly #listeners = new Set<(name: string) => void>();
  #synced = false;

  upsert(record: AtRestRequestRecord): void {
    const held = this.#records.get(record.name);
    // A watch event older than what the loop wrote itself must not bring an undecided version back.
    if (held?.decision && !record.decision && held.uid === record.uid) return;
    this.#records.set(record.name, record);
    this.#notify(record.name);
  }

  remove(name: string): void {
    if (this.#records.delete(name)) this.#notify(name);
  }

  get(name: string): AtRestRequestRecord | undefined {
    return this.#records.get(name);
  }

  names(): string[] {
    return [...this.#records.keys()];
  }

  /** The watch has delivered its first list: until then an absent record proves nothing. */
  markSynced(): void {
    this.#synced = true;
  }

  synced(): boolean {
    return this.#synced;
  }

  subscribe(listener: (name: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #notify(name: string): void {
    for (const listener of this.#listeners) listener(name);
  }
}
