/**
 * What every watch-fed index offers its readers (the holder index, the
 * request-record indexes): whether the watch has listed once (until then an
 * absent entry proves nothing) and a feed of the keys that changed (a
 * loop's trigger).
 */
export class ChangeFeed<K> {
  readonly #listeners = new Set<(key: K) => void>();
  #synced = false;

  /** The watch has delivered its first list. */
  markSynced(): void {
    this.#synced = true;
  }

  synced(): boolean {
    return this.#synced;
  }

  subscribe(listener: (key: K) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  protected notify(key: K): void {
    for (const listener of this.#listeners) listener(key);
  }
}
