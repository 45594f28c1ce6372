/** The part of a view an index reads. */
export interface IndexedView {
  metadata: { name: string; resourceVersion: string; labels: Readonly<Record<string, string>> };
}

/**
 * Objects of one resource by name, and by one label (service_id, or the
 * backup or restore they belong to), so a records request reads a
 * component's objects directly instead of scanning all of them.
 */
export class ViewIndex<V extends IndexedView> {
  private readonly byName = new Map<string, V>();
  private readonly byLabel = new Map<string, Map<string, V>>();

  /** label: the one label to index by; none: by name only. */
  constructor(private readonly label?: string) {}

  upsert(view: V): void {
    this.remove(view.metadata.name);
    this.byName.set(view.metadata.name, view);
    const key = this.label === undefined ? undefined : view.metadata.labels[this.label];
    if (key === undefined) return;
    let group = this.byLabel.get(key);
    if (!group) this.byLabel.set(key, (group = new Map<string, V>()));
    group.set(view.metadata.name, view);
  }

  /**
   * Keeps the newer of what is held and `view`: a write this process just
   * made must not be replaced by an older watch event, nor replace a newer one.
   */
  /** Whether it was kept (newer than what the index holds). */
  upsertIfNewer(view: V): boolean {
    const held = this.byName.get(view.metadata.name);
    if (held && !isNewer(view.metadata.resourceVersion, held.metadata.resourceVersion)) return false;
    this.upsert(view);
    return true;
  }

  remove(name: string): void {
    const held = this.byName.get(name);
    if (!held) return;
    this.byName.delete(name);
    const key = this.label === undefined ? undefined : held.metadata.labels[this.label];
    if (key === undefined) return;
    const group = this.byLabel.get(key);
    group?.delete(name);
    if (group?.size === 0) this.byLabel.delete(key);
  }

  get(name: string): V | undefined {
    return this.byName.get(name);
  }

  withLabel(value: string): V[] {
    return [...(this.byLabel.get(value)?.values() ?? [])];
  }

  all(): IterableIterator<V> {
    return this.byName.values();
  }

  get size(): number {
    return this.byName.size;
  }
}

/**
 * resourceVersions are opaque to clients in general, but etcd-backed API
 * servers issue increasing integers; when both are integers compare them,
 * otherwise treat the incoming one as newer (what a watch delivers is).
 */
function isNewer(incoming: string, held: string): boolean {
  if (/^\d+$/.test(incoming) && /^\d+$/.test(held)) return BigInt(incoming) > BigInt(held);
  return true;
}
